using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Server.Tests.Http;

public class LimitsHttpTests(LimitsServer server) : IClassFixture<LimitsServer>
{
    private readonly HttpClient _client = server.Client;

    // Defect 8: load balancers probe with HEAD.
    [Fact]
    public async Task Head_ping_is_200_without_a_body()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/ping");
        using var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    // Defect 8: model names are case-sensitive on every route, as in TorchServe.
    [Theory]
    [InlineData("/predictions/ECHO")]
    [InlineData("/predictions/Echo")]
    [InlineData("/predictions/echo-copy")]
    [InlineData("/explanations/ECHO")]
    public async Task A_model_name_spelled_in_another_case_is_not_found(string path)
    {
        using var response = await _client.PostAsync(path, new StringContent("hi"));

        await AssertErrorAsync(response, 404, "ModelNotFoundException", "Model not found: " + path.Split('/')[2]);
    }

    [Theory]
    [InlineData("/predictions/echo")]
    [InlineData("/predictions/Echo-copy")]
    public async Task A_model_name_spelled_as_configured_is_served(string path)
    {
        using var response = await _client.PostAsync(path, new StringContent("hi"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // Defect 2: malformed multipart is the client's error, a 400 with the JSON body.
    [Theory]
    [InlineData("multipart/form-data; boundary=right", "--wrong\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nx\r\n--wrong--\r\n", "does not contain the boundary 'right'")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nno closing boundary", "no closing boundary '--b--'")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"data\"", "ends inside its headers")]
    [InlineData("multipart/form-data; boundary=b", "--b\r\n\r\n", "no closing boundary")]
    [InlineData("multipart/form-data; boundary=b", "--b--\r\n", "The form has no parts")]
    [InlineData("multipart/form-data; boundary=\"unclosed", "--b\r\n", "not a multipart type with a boundary")]
    [InlineData("multipart/form-data", "--b\r\n", "not a multipart type with a boundary")]
    [InlineData("multipart/form-data;;;=", "--b\r\n", "not a multipart type with a boundary")]
    public async Task Malformed_multipart_is_a_400_naming_what_is_wrong(string contentType, string body, string message)
    {
        using var response = await SendRawAsync(contentType, Encoding.ASCII.GetBytes(body), chunked: false);

        await AssertErrorAsync(response, 400, "InvalidRequestException", message);
    }

    // Defect 3: each multipart limit reports itself, not the body-size limit.
    [Fact]
    public async Task Too_many_parts_is_reported_as_the_part_limit()
    {
        var body = string.Concat(Enumerable.Range(0, 1000).Select(i => $"--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n{i}\r\n")) + "--b--\r\n";
        using var response = await SendRawAsync("multipart/form-data; boundary=b", Encoding.ASCII.GetBytes(body), chunked: false);

        await AssertErrorAsync(response, 400, "InvalidRequestException", "more than 64 parts (Serve:MaxFormParts)");
    }

    [Fact]
    public async Task A_20_kb_part_header_is_reported_as_the_part_header_limit()
    {
        var body = $"--b\r\nContent-Disposition: form-data; name=\"data\"\r\nX-Padding: {new string('p', 20 * 1024)}\r\n\r\nx\r\n--b--\r\n";
        using var response = await SendRawAsync("multipart/form-data; boundary=b", Encoding.ASCII.GetBytes(body), chunked: false);

        await AssertErrorAsync(response, 400, "InvalidRequestException", "headers larger than 16384 bytes (Serve:MaxFormPartHeaderSize)");
    }

    [Fact]
    public async Task A_200_character_boundary_is_reported_as_the_boundary_limit()
    {
        var boundary = new string('b', 200);
        var body = $"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nx\r\n--{boundary}--\r\n";
        using var response = await SendRawAsync("multipart/form-data; boundary=" + boundary, Encoding.ASCII.GetBytes(body), chunked: false);

        await AssertErrorAsync(response, 400, "InvalidRequestException", "boundary is 200 characters; RFC 2046 allows 1 to 70");
    }

    // Defect 4: the size limit applies to the whole body, however it is framed.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_multipart_body_over_the_size_limit_is_413_chunked_or_not(bool chunked)
    {
        var part = new string('x', 16 * 1024);
        var body = string.Concat(Enumerable.Range(0, 6).Select(i => $"--b\r\nContent-Disposition: form-data; name=\"f{i}\"; filename=\"f{i}\"\r\n\r\n{part}\r\n")) + "--b--\r\n";
        using var response = await SendRawAsync("multipart/form-data; boundary=b", Encoding.ASCII.GetBytes(body), chunked);

        await AssertErrorAsync(response, 413, "RequestTooLargeException", $"limit of {LimitsServer.MaxRequestSize} bytes");
    }

    [Fact]
    public async Task A_well_formed_form_still_sends_its_data_part()
    {
        var body = "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nno\r\n"
            + "--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"d.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--b--\r\nepilogue";
        using var response = await SendRawAsync("multipart/form-data; boundary=\"b\"", Encoding.ASCII.GetBytes(body), chunked: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("line one\r\nline two", json.RootElement.GetProperty("text").GetString());
    }

    // Defect 5: every error a client can see has the {"code","type","message"} body.
    [Fact]
    public async Task An_unknown_path_is_a_404_json_error()
    {
        using var response = await _client.GetAsync("/no/such/path");

        await AssertErrorAsync(response, 404, "NotFoundException", "No endpoint answers GET /no/such/path");
    }

    [Fact]
    public async Task A_wrong_method_is_a_405_json_error()
    {
        using var response = await _client.DeleteAsync("/predictions/echo");

        await AssertErrorAsync(response, 405, "MethodNotAllowedException", "does not take DELETE");
    }

    [Fact]
    public async Task An_exception_nothing_caught_is_a_500_json_error_logged_as_a_server_fault()
    {
        using var response = await _client.GetAsync("/throws");

        await AssertErrorAsync(response, 500, "InternalServerException", "the fault is logged");
        Assert.Contains(server.Log, entry => entry.Level == LogLevel.Error && entry.Exception?.Message == "a server fault");
    }

    [Fact]
    public async Task A_body_over_kestrels_configured_cap_is_a_413_json_error()
    {
        // Over Kestrel:Limits:MaxRequestBodySize with a length Kestrel only learns while reading: chunked.
        using var response = await SendRawAsync("application/octet-stream", new byte[LimitsServer.KestrelMaxRequestBodySize + 1], chunked: true, path: "/predictions/echo");

        Assert.Equal(413, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400, "request is malformed")]
    [InlineData("GET /ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "request is malformed")]
    [InlineData("GET /ping HTTP/1.7\r\nHost: x\r\n\r\n", 505, "HTTP version is not supported")]
    [InlineData("POST /predictions/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "")]
    public async Task A_request_kestrel_cannot_parse_gets_a_json_error(string raw, int status, string message)
    {
        var (code, contentType, body) = await RawExchangeAsync(Encoding.ASCII.GetBytes(raw));

        Assert.Equal(status, code);
        Assert.Equal("application/json", contentType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(status, json.RootElement.GetProperty("code").GetInt32());
        Assert.Contains(message, json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_request_line_over_the_configured_limit_is_a_414_json_error()
    {
        var (code, contentType, body) = await RawExchangeAsync(Encoding.ASCII.GetBytes($"GET /{new string('a', 4096)} HTTP/1.1\r\nHost: x\r\n\r\n"));

        Assert.Equal(414, code);
        Assert.Equal("application/json", contentType);
        Assert.Contains("MaxRequestLineSize", body);
    }

    [Fact]
    public async Task Headers_over_the_configured_limit_are_a_431_json_error()
    {
        var (code, contentType, body) = await RawExchangeAsync(Encoding.ASCII.GetBytes($"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 10_000)}\r\n\r\n"));

        Assert.Equal(431, code);
        Assert.Equal("application/json", contentType);
        Assert.Contains("MaxRequestHeadersTotalSize", body);
    }

    // Defect 6: a slow body is a 408 JSON error, logged once at debug and counted, with no stack trace.
    [Fact]
    public async Task A_slow_body_is_a_408_logged_at_debug_and_counted_not_a_server_error()
    {
        var counted = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HandlerMetrics.MeterName && instrument.Name == "ClientErrors")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "StatusCode" && tag.Value is 408)
                {
                    Interlocked.Add(ref counted, value);
                }
            }
        });
        listener.Start();

        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("POST /predictions/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
        var (code, contentType, body) = await DripUntilAnsweredAsync(socket, TimeSpan.FromSeconds(15));

        Assert.Equal(408, code);
        Assert.Equal("application/json", contentType);
        Assert.Contains("RequestTimeoutException", body);
        listener.RecordObservableInstruments();
        Assert.True(Interlocked.Read(ref counted) >= 1, "the 408 was not counted on ClientErrors");
        Assert.Contains(server.Log, entry => entry.Level == LogLevel.Debug && entry.Category == "Serve.Server.Http.ClientErrors" && entry.Message.Contains("answered 408"));
        Assert.DoesNotContain(server.Log, entry => entry.Level >= LogLevel.Warning && entry.Exception is Microsoft.AspNetCore.Http.BadHttpRequestException);
    }

    [Fact]
    public async Task Bad_chunks_are_answered_400_and_not_logged_as_server_errors()
    {
        for (var i = 0; i < 5; i++)
        {
            var (code, _, _) = await RawExchangeAsync(Encoding.ASCII.GetBytes("POST /predictions/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n"));
            Assert.Equal(400, code);
        }

        Assert.DoesNotContain(server.Log, entry => entry.Level >= LogLevel.Warning && entry.Exception is not null && entry.Exception.Message != "a server fault");
    }

    [Fact]
    public void The_configured_connection_cap_is_honoured()
    {
        // Kestrel's own cap is a backstop just above ours (which answers 503): an eighth more.
        Assert.Equal(50 + 6, server.ConfiguredConnectionCap);
    }

    // Defect 1's cap: a connection over it is answered 503 with Retry-After, not reset.
    [Fact]
    public async Task A_connection_over_the_cap_is_answered_503_and_the_server_serves_again_when_they_close()
    {
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                var socket = await ConnectAsync();
                await socket.SendAsync(Encoding.ASCII.GetBytes("GET /ping HTTP/1.1\r\nHost: x\r\n")); // headers never finished
                held.Add(socket);
            }
            await Task.Delay(300); // let Kestrel accept them all

            var (code, contentType, body) = await RawExchangeAsync(Encoding.ASCII.GetBytes("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));

            Assert.Equal(503, code);
            Assert.Equal("application/json", contentType);
            Assert.Contains("Kestrel:Limits:MaxConcurrentConnections", body);
        }
        finally
        {
            held.ForEach(socket => socket.Dispose());
        }

        using var response = await _client.GetAsync("/ping");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendRawAsync(string contentType, byte[] body, bool chunked, string path = "/predictions/echo")
    {
        HttpContent content = chunked ? new StreamContent(new UnknownLengthStream(body)) : new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        return await _client.SendAsync(request);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.Address.Port);
        return socket;
    }

    /// <summary>Sends raw bytes, reads the answer until the server closes (at most 10 s).</summary>
    private async Task<(int Code, string? ContentType, string Body)> RawExchangeAsync(byte[] raw)
    {
        using var socket = await ConnectAsync();
        await socket.SendAsync(raw);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException)
            {
                break;
            }
            if (read == 0)
            {
                break;
            }
            received.Write(buffer, 0, read);
            if (Parse(received.ToArray()) is { } complete)
            {
                return complete;
            }
        }
        return Parse(received.ToArray()) ?? throw new InvalidOperationException("No complete answer: " + Encoding.ASCII.GetString(received.ToArray()));
    }

    /// <summary>Sends one body byte every 100 ms (slower than the configured minimum rate) until an answer arrives.</summary>
    private static async Task<(int Code, string? ContentType, string Body)> DripUntilAnsweredAsync(Socket socket, TimeSpan limit)
    {
        var received = new MemoryStream();
        var buffer = new byte[8192];
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await socket.SendAsync(new byte[] { (byte)'x' });
            }
            catch (SocketException)
            {
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            try
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                if (read == 0)
                {
                    break;
                }
                received.Write(buffer, 0, read);
                if (Parse(received.ToArray()) is { } complete)
                {
                    return complete;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
        return Parse(received.ToArray()) ?? throw new InvalidOperationException("No answer to the slow body: " + Encoding.ASCII.GetString(received.ToArray()));
    }

    /// <summary>A complete HTTP/1.1 answer with a Content-Length, or null.</summary>
    private static (int Code, string? ContentType, string Body)? Parse(byte[] bytes)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return null;
        }
        var lines = text[..end].Split("\r\n");
        var headers = lines.Skip(1).Select(line => line.Split(':', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = headers.TryGetValue("Content-Length", out var l) ? int.Parse(l) : 0;
        var body = text[(end + 4)..];
        if (Encoding.UTF8.GetByteCount(body) < length)
        {
            return null;
        }
        return (int.Parse(lines[0].Split(' ')[1]), headers.TryGetValue("Content-Type", out var type) ? type.Split(';')[0] : null, body);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, int code, string type, string message)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(code == (int)response.StatusCode, $"expected {code}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(["code", "type", "message"], json.RootElement.EnumerateObject().Select(property => property.Name));
        Assert.Equal(code, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal(type, json.RootElement.GetProperty("type").GetString());
        Assert.Contains(message, json.RootElement.GetProperty("message").GetString());
    }

    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
