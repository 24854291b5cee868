using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Server.Tests.TestHandlers;
using Serve.Tests;
using Serve.Tests.Handlers;

namespace Serve.Server.Tests.Http;

/// <summary>
/// A real Kestrel server on 127.0.0.1 serving the test assembly's handlers through the generated
/// AddServeHandlers() and MapServeEndpoints(), with the model "echo" (batch size 8) configured.
/// </summary>
public sealed class ServeServer : IAsyncLifetime
{
    public const int MaxRequestSize = 1024;

    private readonly string _directory = Directory.CreateTempSubdirectory("serve-http-").FullName;
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        // A model directory without manifest or model file; the config lets requests be batched.
        await File.WriteAllTextAsync(Path.Combine(_directory, "model-config.yaml"), "batchSize: 8\n");

        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Services
            .AddServe(options =>
            {
                options.MaxRequestSize = MaxRequestSize;
                options.Models.Add(new ModelOptions { Name = "echo", Path = _directory });
                options.Models.Add(new ModelOptions { Name = "echo-copy", Path = _directory, Handler = "echo" });
                options.Models.Add(new ModelOptions { Name = "errors", Path = _directory, Handler = "errors-stages" });
                options.Models.Add(new ModelOptions { Name = "explainer", Path = _directory, Handler = "stages-static" });
                options.Models.Add(new ModelOptions { Name = "hold", Path = ConfiguredDirectory("hold", "batchSize: 1\nmaxBatchDelay: 0\njobQueueSize: 1\nminWorkers: 1\nmaxWorkers: 1\n"), Handler = "hold" });
                options.Models.Add(new ModelOptions { Name = "batched-reader", Path = ConfiguredDirectory("batched-reader", "batchSize: 8\nmaxBatchDelay: 5\n"), Handler = "hold" });
                options.Models.Add(new ModelOptions { Name = "late", Path = ConfiguredDirectory("late", "batchSize: 1\nmaxBatchDelay: 0\nresponseTimeout: 1\nminWorkers: 1\nmaxWorkers: 1\n"), Handler = "hold" });
            })
            .AddServeHandlers();

        _host = await KestrelTestHost.StartAsync(builder, app => app.MapServeEndpoints());
    }

    private string ConfiguredDirectory(string name, string config)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;
        File.WriteAllText(Path.Combine(directory, "model-config.yaml"), config);
        return directory;
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }
}

public class HttpTests(ServeServer server) : IClassFixture<ServeServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Ping_says_healthy_once_the_models_are_loaded()
    {
        using var response = await _client.GetAsync("/ping");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"status\":\"Healthy\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_prediction_returns_the_handler_result_as_json()
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("hello"));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");

        using var response = await _client.PostAsync("/predictions/echo?tag=t1", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"text\":\"hello\",\"length\":5,\"contentType\":\"text/plain\",\"tag\":\"t1\"}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_prediction_may_be_a_put()
    {
        using var response = await _client.PutAsync("/predictions/echo", new ByteArrayContent(Encoding.UTF8.GetBytes("put")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("put", await TextOf(response));
    }

    [Fact]
    public async Task A_body_of_exactly_the_size_limit_is_accepted()
    {
        using var response = await PostAsync(new string('x', ServeServer.MaxRequestSize));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServeServer.MaxRequestSize, (await JsonOf(response)).RootElement.GetProperty("length").GetInt32());
    }

    [Fact]
    public async Task An_empty_body_is_a_400_json_error()
    {
        using var response = await _client.PostAsync("/predictions/echo", new ByteArrayContent([]));

        await AssertErrorAsync(response, 400, "InvalidRequestException", "The request body is empty");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_a_413_json_error()
    {
        using var response = await PostAsync(new string('x', ServeServer.MaxRequestSize + 1));

        await AssertErrorAsync(response, 413, "RequestTooLargeException", $"limit of {ServeServer.MaxRequestSize} bytes");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_chunked_body_over_the_size_limit_is_a_413_json_error()
    {
        // A stream of unknown length is sent chunked, without Content-Length: the limit applies while reading.
        using var content = new StreamContent(new UnknownLengthStream(new byte[ServeServer.MaxRequestSize * 3]));

        using var response = await _client.PostAsync("/predictions/echo", content);

        Assert.Null(content.Headers.ContentLength);
        await AssertErrorAsync(response, 413, "RequestTooLargeException", $"limit of {ServeServer.MaxRequestSize} bytes");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_body_the_preprocess_refuses_is_a_400_with_the_handler_message()
    {
        using var response = await PostAsync("bad input");

        await AssertErrorAsync(response, 400, "InvalidRequestException", "'bad input' is not something echo repeats");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_json_error()
    {
        using var response = await PostAsync("hello", "/predictions/nope");

        await AssertErrorAsync(response, 404, "ModelNotFoundException", "Model not found: nope");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_model_named_otherwise_than_its_handler_is_served_under_its_own_name()
    {
        using var response = await PostAsync("hello", "/predictions/echo-copy");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"text\":\"hello\"", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/predictions/stages-sync", "stages-sync")]
    [InlineData("/explanations/stages-static", "stages-static")]
    public async Task A_handler_that_no_configured_model_uses_answers_404_model_not_found(string path, string name)
    {
        using var response = await PostAsync("hello", path);

        await AssertErrorAsync(response, 404, "ModelNotFoundException", $"Model not found: {name}");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_get_on_a_prediction_route_is_not_allowed()
    {
        using var response = await _client.GetAsync("/predictions/echo");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task A_form_upload_sends_the_data_part_to_the_handler()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("ignored"), "other" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("from a file")), "data", "input.txt" },
        };

        using var response = await _client.PostAsync("/predictions/echo", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("from a file", await TextOf(response));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("a=1&b=2")]
    public async Task A_body_labelled_form_urlencoded_as_curl_data_binary_sends_it_arrives_as_sent(string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");

        using var response = await _client.PostAsync("/predictions/echo", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await TextOf(response));
    }

    [Fact]
    public async Task Twenty_concurrent_requests_each_get_their_own_answer()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await PostAsync("request " + i);
            return (response.StatusCode, Text: await TextOf(response));
        }));

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "request " + i), responses.Select(response => response.Text));
    }

    [Fact]
    public async Task Concurrent_bad_requests_fail_alone_and_the_good_ones_succeed()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await PostAsync((i % 3 == 0 ? "bad " : "good ") + i);
            return (i, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        foreach (var (i, status, body) in responses)
        {
            using var json = JsonDocument.Parse(body);
            if (i % 3 == 0)
            {
                Assert.Equal(HttpStatusCode.BadRequest, status);
                Assert.Equal($"'bad {i}' is not something echo repeats", json.RootElement.GetProperty("message").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal("good " + i, json.RootElement.GetProperty("text").GetString());
            }
        }
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string path = "/predictions/echo") =>
        await _client.PostAsync(path, new ByteArrayContent(Encoding.UTF8.GetBytes(body)));

    private async Task AssertStillServesAsync()
    {
        using var response = await PostAsync("still here");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("still here", await TextOf(response));
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, int code, string type, string message)
    {
        Assert.Equal(code, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = await JsonOf(response);
        Assert.Equal(["code", "type", "message"], json.RootElement.EnumerateObject().Select(property => property.Name));
        Assert.Equal(code, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal(type, json.RootElement.GetProperty("type").GetString());
        Assert.Contains(message, json.RootElement.GetProperty("message").GetString());
    }

    private static async Task<string?> TextOf(HttpResponseMessage response)
    {
        using var json = await JsonOf(response);
        return json.RootElement.GetProperty("text").GetString();
    }

    private static async Task<JsonDocument> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    /// <summary>A readable stream that does not say how long it is, so HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
    [Theory]
    [InlineData("throw:preprocess", "The preprocess stage of handler 'errors-stages' failed: preprocess broke")]
    [InlineData("throw:inference", "The inference stage of handler 'errors-stages' failed: inference broke")]
    [InlineData("throw:postprocess", "The postprocess stage of handler 'errors-stages' failed: postprocess broke")]
    public async Task A_failing_stage_is_a_500_naming_the_stage_and_the_next_request_succeeds(string body, string message)
    {
        using var failed = await _client.PostAsync("/predictions/errors", new StringContent(body));
        using var next = await _client.PostAsync("/predictions/errors", new StringContent("fine"));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        using var json = JsonDocument.Parse(await failed.Content.ReadAsStringAsync());
        Assert.Equal(500, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal("InternalServerException", json.RootElement.GetProperty("type").GetString());
        Assert.Equal(message, json.RootElement.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }
    [Fact]
    public async Task A_full_queue_is_a_503_with_retry_after_and_the_queued_requests_still_succeed()
    {
        var running = _client.PostAsync("/predictions/hold", new StringContent("hold"));
        Assert.True(await HoldHandler.Holding.WaitAsync(TimeSpan.FromSeconds(10))); // taken by the worker
        var queued = _client.PostAsync("/predictions/hold", new StringContent("queued")); // the queue's one place
        await Task.Delay(200);

        using var refused = await _client.PostAsync("/predictions/hold", new StringContent("refused"));
        HoldHandler.Release();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        using var json = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("ServiceUnavailableException", json.RootElement.GetProperty("type").GetString());
        Assert.Contains("full queue (1 requests", json.RootElement.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal("queued", await (await queued).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Concurrent_requests_in_shared_batches_each_get_the_answer_to_their_own_body()
    {
        // Bodies of one size (one pool bucket), 64 at once (within the queue), batched by eight and
        // read by the worker: a pooled array given back too early would show as another request's
        // text in some answer.
        var texts = Enumerable.Range(0, 64).Select(i => $"body-{i:D4}").ToArray();

        var answers = await Task.WhenAll(texts.Select(async text =>
        {
            using var response = await _client.PostAsync("/predictions/batched-reader", new StringContent(text));
            return await response.Content.ReadAsStringAsync();
        }));

        Assert.Equal(texts, answers);
    }

    [Fact]
    public async Task A_body_the_model_still_reads_after_its_client_left_is_not_reused_for_the_next_requests()
    {
        HoldHandler.ReadAfterHold.Clear();
        using var leaving = new CancellationTokenSource();
        var abandoned = _client.PostAsync("/predictions/hold", new StringContent("hold"), leaving.Token);
        Assert.True(await HoldHandler.Holding.WaitAsync(TimeSpan.FromSeconds(10)));
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await Task.Delay(200); // the server sees the client gone, and the call ends

        // Bodies of the same size come and go: had the held body's pooled array gone back when its
        // call ended, these would be read into it.
        var others = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => _client.PostAsync("/predictions/echo", new StringContent("zzzz"))));
        Assert.All(others, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Array.ForEach(others, response => response.Dispose());
        HoldHandler.Release();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (HoldHandler.ReadAfterHold.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(["hold"], HoldHandler.ReadAfterHold);
    }

    [Fact]
    public async Task A_batch_over_the_response_timeout_is_a_504_and_the_model_serves_the_next_request()
    {
        using var late = await _client.PostAsync("/predictions/late", new StringContent("forever"));
        using var next = await _client.PostAsync("/predictions/late", new StringContent("next"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
        using var json = JsonDocument.Parse(await late.Content.ReadAsStringAsync());
        Assert.Contains("did not answer within its responseTimeout of 1 s", json.RootElement.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("next", await next.Content.ReadAsStringAsync());
    }
    [Fact]
    public async Task An_explanation_and_a_prediction_each_run_the_per_request_preprocess_once()
    {
        using var explained = await _client.PostAsync("/explanations/explainer", new StringContent("why-me"));
        using var predicted = await _client.PostAsync("/predictions/explainer", new StringContent("what-me"));

        Assert.Equal(HttpStatusCode.OK, explained.StatusCode);
        Assert.Equal("because why-me", await explained.Content.ReadAsStringAsync());
        Assert.Equal("what-me!", await predicted.Content.ReadAsStringAsync());
        var calls = StaticStagesHandler.Log["explainer"];
        lock (calls)
        {
            Assert.Single(calls, call => call == "preprocess why-me");
            Assert.Single(calls, call => call == "preprocess what-me");
            Assert.Contains("explain why-me", calls);
            Assert.Contains("inference what-me", calls);
        }
    }
}
