using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// The answers Kestrel writes itself (a request it cannot parse) carry TorchServe's JSON error body
/// from `serve start` too, not only from the digits sample (issue 23 item 11): the endpoints
/// TorchServeHost binds get the connection middleware the sample's do.
/// </summary>
public sealed class KestrelErrorBodyTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string, int> Malformed => new()
    {
        { "GARBAGE\r\n\r\n", 400 },
        { "GET /ping HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400 },
        { $"GET /{new string('a', 8_300)} HTTP/1.1\r\nHost: x\r\n\r\n", 414 }, // just past 8192: all of it read before the answer, so no reset loses it
        { $"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\n\r\n", 431 },
        { "GET /ping HTTP/1.7\r\nHost: x\r\n\r\n", 505 },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Each_listener_answers_a_malformed_request_with_torchserves_json(string request, int status)
    {
        foreach (var listener in new[] { _server.Config.InferenceAddress, _server.Config.ManagementAddress, _server.Config.MetricsAddress })
        {
            var answer = await RawHttp.ExchangeAsync(listener, Encoding.ASCII.GetBytes(request));

            Assert.NotNull(answer);
            Assert.Equal(status, answer.Status);
            Assert.Contains("Content-Type: application/json", answer.Head);
            using var json = JsonDocument.Parse(answer.Body);
            Assert.Equal(status, json.RootElement.GetProperty("code").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("message").GetString()));
        }
    }
}
