using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Serve.Server;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// Explanations have their own bound (issue 23 item 6): 64 instances in one call held a model's
/// single worker for 17 s while a prediction waited 15 s. A call carries at most
/// Serve:MaxExplainInstances, and each model runs Serve:MaxConcurrentExplanations at once.
/// </summary>
public sealed class ExplainBoundTests : IAsyncLifetime
{
    private EchoServer _server = null!;
    private readonly HttpClient _client = new();

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<HttpResponseMessage> Explain(int instances) =>
        _client.PostAsync(new System.Uri(_server.Config.InferenceAddress, "/v1/models/sized:explain"),
            new StringContent($$"""{"instances": [{{string.Join(", ", Enumerable.Repeat("3", instances))}}]}""", Encoding.UTF8, "application/json"));

    [Fact]
    public async Task An_explanation_call_over_the_instance_bound_is_a_400_naming_it()
    {
        var bound = ((IOptions<ServeOptions>)_server.Services.GetService(typeof(IOptions<ServeOptions>))!).Value.MaxExplainInstances;

        using var over = await Explain(64);
        using var within = await Explain(bound);
        using var predict = await _client.PostAsync(new System.Uri(_server.Config.InferenceAddress, "/v1/models/sized:predict"),
            new StringContent($$"""{"instances": [{{string.Join(", ", Enumerable.Repeat("3", 64))}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
        Assert.Contains("Serve:MaxExplainInstances", await over.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, within.StatusCode);
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode); // predictions keep KServe v1's own bound
    }
}
