using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// With token authorization on (the default), an orchestrator's probes work without a key:
/// Kubernetes' httpGet probe sends no Authorization header (issue 23 item 12; docs/kserve.md).
/// Everything else still needs the key.
/// </summary>
public sealed class HealthProbeTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/ping")]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    public async Task A_probe_without_a_key_is_answered(string path)
    {
        using var get = await _server.Inference(HttpMethod.Get, path, key: null);
        using var head = await _server.Inference(HttpMethod.Head, path, key: null);

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, head.StatusCode);
    }

    [Theory]
    [InlineData("/v2")]
    [InlineData("/v2/models/digits")]
    [InlineData("/v2/models/digits/ready")]
    [InlineData("/predictions/digits")]
    public async Task Other_paths_still_need_the_key(string path)
    {
        using var response = await _server.Inference(HttpMethod.Get, path, key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
