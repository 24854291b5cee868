using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace Serve.IntegrationTests;

/// <summary>The sample served over real HTTP: held-out accuracy, and bad input that hurts no one else.</summary>
public sealed class DigitsEndToEndTests(DigitsServer server, ITestOutputHelper output) : IClassFixture<DigitsServer>
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits");

    [Fact]
    public async Task Held_out_digits_over_http_are_classified_as_accurately_as_offline()
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures, "heldout.json")));
        var offlineAccuracy = expected.RootElement.GetProperty("offlineAccuracy").GetDouble();
        var images = expected.RootElement.GetProperty("images").EnumerateArray().ToArray();
        Assert.Equal(360, images.Length);

        // 16 requests at a time: the worker gets real batches and the queue (100) never fills.
        using var inFlight = new SemaphoreSlim(16);
        var answers = await Task.WhenAll(images.Select(async image =>
        {
            await inFlight.WaitAsync();
            try
            {
                var body = await File.ReadAllBytesAsync(Path.Combine(Fixtures, "heldout", image.GetProperty("file").GetString()!));
                using var response = await PostAsync(body);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
                return (Image: image, Digit: json.RootElement.GetProperty("digit").GetInt32(), Probability: json.RootElement.GetProperty("probability").GetDouble());
            }
            finally
            {
                inFlight.Release();
            }
        }));

        var correct = answers.Count(a => a.Digit == a.Image.GetProperty("label").GetInt32());
        var sameAsPyTorch = answers.Count(a => a.Digit == a.Image.GetProperty("predicted").GetInt32());
        var maxProbabilityGap = answers.Max(a => Math.Abs(a.Probability - a.Image.GetProperty("probability").GetDouble()));
        var accuracy = (double)correct / answers.Length;
        output.WriteLine($"HTTP accuracy {accuracy:F4} ({correct}/{answers.Length}), offline {offlineAccuracy:F4}; " +
                         $"same digit as PyTorch on {sameAsPyTorch}/{answers.Length}; largest probability gap {maxProbabilityGap:E2}");

        Assert.Equal(answers.Length, sameAsPyTorch);
        Assert.Equal(offlineAccuracy, accuracy, precision: 4);
        Assert.True(maxProbabilityGap < 1e-4, $"Probabilities differ from PyTorch's by up to {maxProbabilityGap}");
    }

    [Theory]
    [InlineData("not an image", 400, "not an image")]
    [InlineData("empty", 400, "body is empty")]
    [InlineData("truncated PNG", 400, "could not be decoded")]
    [InlineData("huge image header", 400, "20000x20000")]
    [InlineData("over the size limit", 413, "larger than the server's limit of 6553500 bytes")]
    public async Task Bad_input_gets_a_clear_json_error_and_the_server_keeps_serving(string what, int status, string message)
    {
        var body = what switch
        {
            "not an image" => "This is text, not a PNG"u8.ToArray(),
            "empty" => [],
            "truncated PNG" => TruncatedPng(),
            "huge image header" => PngHeader(20000, 20000),
            _ => new byte[7_000_000],
        };
        using var response = await PostAsync(body);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(status, json.RootElement.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("type").GetString()), what);
        Assert.Contains(message, json.RootElement.GetProperty("message").GetString());

        using var next = await PostAsync(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "images", "4.png")));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Contains("\"digit\":4", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_chunked_body_is_read_and_limited_too()
    {
        var image = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "images", "2.png"));
        using var small = await SendChunkedAsync(image);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Contains("\"digit\":2", await small.Content.ReadAsStringAsync());

        using var large = await SendChunkedAsync(new byte[7_000_000]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
    }

    private async Task<HttpResponseMessage> SendChunkedAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predictions/digits") { Content = new ByteArrayContent(body) };
        request.Headers.TransferEncodingChunked = true;
        return await server.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_bad_image_in_a_busy_batch_fails_alone()
    {
        var good = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "images", "8.png"));
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => PostAsync(i % 6 == 0 ? "garbage"u8.ToArray() : good)));
        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(i % 6 == 0 ? HttpStatusCode.BadRequest : HttpStatusCode.OK, responses[i].StatusCode);
            responses[i].Dispose();
        }
    }

    [Fact]
    public async Task TorchServe_style_uploads_work_too_put_and_a_form_field()
    {
        var image = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "images", "6.png"));

        // curl -T 6.png http://127.0.0.1:8080/predictions/digits
        using var put = await server.Client.PutAsync("/predictions/digits", new ByteArrayContent(image));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Contains("\"digit\":6", await put.Content.ReadAsStringAsync());

        // curl -F data=@6.png http://127.0.0.1:8080/predictions/digits
        using var form = new MultipartFormDataContent { { new ByteArrayContent(image), "data", "6.png" } };
        using var posted = await server.Client.PostAsync("/predictions/digits", form);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Contains("\"digit\":6", await posted.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ping_is_healthy_and_an_unknown_model_is_not_found()
    {
        Assert.Equal("{\"status\":\"Healthy\"}", await server.Client.GetStringAsync("/ping"));
        using var response = await server.Client.PostAsync("/predictions/unknown", new ByteArrayContent([1]));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return await server.Client.PostAsync("/predictions/digits", content);
    }

    private static byte[] TruncatedPng()
    {
        var png = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "images", "5.png"));
        return png[..(png.Length / 2)];
    }

    /// <summary>A complete, valid PNG that claims a huge image: refused before any pixel memory is taken.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth; colour type 0: greyscale
        WriteChunk(stream, "IHDR"u8, header);
        WriteChunk(stream, "IDAT"u8, [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]); // an empty zlib stream
        WriteChunk(stream, "IEND"u8, []);
        return stream.ToArray();
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, byte[] data)
    {
        var chunk = new byte[4 + data.Length];
        type.CopyTo(chunk);
        data.CopyTo(chunk, 4);
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        stream.Write(chunk);
        var crc = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(chunk));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
