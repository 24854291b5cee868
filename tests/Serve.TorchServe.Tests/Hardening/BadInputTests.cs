using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// A client's mistakes are 4xx answers with a message, never a 500 logged as a server fault
/// (issue 23 item 10), and the server still predicts after each.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync("disable_token_authorization=true");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string> OipBodies => new()
    {
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [0], "data": []}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": ["a"], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1.5], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [null], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [[1]], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [99999999999999999999], "data": [1]}]}""",
        """{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ["a"]}]}""",
        """{"inputs": [{"name": "x", "datatype": "NOPE", "shape": [1], "data": [1]}]}""",
        """{"inputs": [{"name": 5, "datatype": "FP32", "shape": [1], "data": [1]}]}""",
        """{"inputs": [{"name": "\ud800", "datatype": "FP32", "shape": [1], "data": [1]}]}""",
        """{"inputs": {}}""",
        """[]""",
    };

    [Theory]
    [MemberData(nameof(OipBodies))]
    public async Task An_open_inference_request_a_client_got_wrong_is_a_4xx_with_a_message(string body)
    {
        using var response = await _server.Inference(HttpMethod.Post, "/v2/models/digits/infer", new StringContent(body, Encoding.UTF8, "application/json"), key: null);

        await AssertClientError(response);
    }

    [Fact]
    public async Task A_tensor_name_that_is_not_utf8_is_a_4xx()
    {
        var body = Encoding.UTF8.GetBytes("""{"inputs": [{"name": "X", "datatype": "FP32", "shape": [1], "data": [1]}]}""");
        body[Array.IndexOf(body, (byte)'X')] = 0xFF;

        using var response = await _server.Inference(HttpMethod.Post, "/v2/models/digits/infer", new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json" } } }, key: null);

        await AssertClientError(response);
    }

    [Theory]
    [InlineData("ffffffffffffffffffff")]
    [InlineData("-1")]
    [InlineData("zz")]
    public async Task A_chunk_size_no_server_could_read_is_a_400(string size)
    {
        var request = $"POST /predictions/digits HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n0\r\n\r\n";

        var answer = await RawHttp.ExchangeAsync(_server.Config.InferenceAddress, Encoding.ASCII.GetBytes(request));

        Assert.NotNull(answer);
        Assert.Equal(400, answer.Status);
        await AssertStillPredicts();
    }

    [Fact]
    public async Task A_kserve_v1_body_a_client_got_wrong_is_a_4xx()
    {
        foreach (var body in new[] { """{"instances": [{"data": 5}]}""", """{"instances": "x"}""", """{"instances": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}""" })
        {
            using var response = await _server.Inference(HttpMethod.Post, "/v1/models/digits:predict", new StringContent(body, Encoding.UTF8, "application/json"), key: null);
            await AssertClientError(response);
        }
    }

    private async Task AssertClientError(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        var message = json.RootElement.TryGetProperty("message", out var m) ? m : json.RootElement.GetProperty("error"); // OIP names it "error"
        Assert.False(string.IsNullOrWhiteSpace(message.GetString()));
        await AssertStillPredicts();
    }

    private async Task AssertStillPredicts()
    {
        using var response = await _server.Predict("digits");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
