using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// <c>/ping</c> answers as TorchServe's (ApiUtils.isModelHealthy): Unhealthy, 500, while a model
/// cannot serve its minWorkers; before, it said Healthy with a model Failed at start.
/// <c>/v2/health/live</c> stays 200: it is the liveness probe.
/// </summary>
public sealed class PingTests : IAsyncLifetime
{
    private readonly HttpClient _client = new();
    private EchoServer _server = null!;

    /// <summary>A handler whose initialize fails, so its model is Failed from the start.</summary>
    private sealed class BrokenHandler : IHandler
    {
        public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("this model cannot load");

        public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("never called");
    }

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync("enable_model_api=true", handler: () => new BrokenHandler());

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> Get(Uri address, string path)
    {
        using var response = await _client.GetAsync(new Uri(address, path));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ping_is_unhealthy_while_a_model_failed_at_start_and_healthy_once_it_is_removed()
    {
        var inference = _server.Config.InferenceAddress;

        Assert.Equal((HttpStatusCode.InternalServerError, """{"status":"Unhealthy"}"""), await Get(inference, "/ping"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Get(inference, "/v2/health/ready")).Status);
        Assert.Equal((HttpStatusCode.OK, """{"live":true}"""), await Get(inference, "/v2/health/live"));
        using var described = await _client.GetAsync(new Uri(_server.Config.ManagementAddress, "/models/sized"));
        Assert.Contains("this model cannot load", await described.Content.ReadAsStringAsync());

        using var removed = await _client.DeleteAsync(new Uri(_server.Config.ManagementAddress, "/models/sized"));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal((HttpStatusCode.OK, """{"status":"Healthy"}"""), await Get(inference, "/ping"));
        Assert.Equal(HttpStatusCode.OK, (await Get(inference, "/v2/health/ready")).Status);
    }
}
