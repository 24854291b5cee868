using System;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests;

/// <summary>max_response_size on every way an answer leaves: predictions, explanations, Open Inference Protocol v2.</summary>
public sealed class MaxResponseSizeTests : IAsyncLifetime
{
    private const int Limit = 1000;
    private EchoServer _server = null!;
    private readonly HttpClient _client = new();

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync($"max_response_size={Limit}");

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<HttpResponseMessage> Post(string path, string body) =>
        _client.PostAsync(new Uri(_server.Config.InferenceAddress, path), new StringContent(body, Encoding.ASCII));

    [Theory]
    [InlineData("/predictions/sized")]
    [InlineData("/explanations/sized")]
    public async Task An_answer_over_the_limit_is_a_500_naming_it_and_the_next_request_is_served(string path)
    {
        using var tooLarge = await Post(path, (Limit + 1).ToString());
        using var atLimit = await Post(path, Limit.ToString());

        Assert.Equal(HttpStatusCode.InternalServerError, tooLarge.StatusCode);
        var error = await tooLarge.Json();
        Assert.Equal(500, error.GetProperty("code").GetInt32());
        Assert.Equal("InternalServerException", error.GetProperty("type").GetString());
        Assert.Equal($"Model 'sized' answered {Limit + 1} bytes, more than max_response_size ({Limit} bytes); raise max_response_size or make the answer smaller.",
            error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.Equal(Limit, (await atLimit.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task The_open_inference_protocol_refuses_it_too()
    {
        static string Infer(int size) =>
            $$"""{"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "data": ["{{size}}"]}]}""";

        using var tooLarge = await _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/v2/models/sized/infer"), new StringContent(Infer(Limit + 1), Encoding.UTF8, "application/json"));
        using var small = await _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/v2/models/sized/infer"), new StringContent(Infer(10), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.InternalServerError, tooLarge.StatusCode);
        Assert.Contains("more than max_response_size (1000 bytes)", (await tooLarge.Json()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task A_batch_of_many_keeps_serving_while_some_answers_are_too_large()
    {
        var requests = new Task<HttpResponseMessage>[20];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = Post("/predictions/sized", (i % 2 == 0 ? Limit * 2 : 5).ToString());
        }
        var responses = await Task.WhenAll(requests);

        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? HttpStatusCode.InternalServerError : HttpStatusCode.OK, responses[i].StatusCode);
            responses[i].Dispose();
        }
    }
}
