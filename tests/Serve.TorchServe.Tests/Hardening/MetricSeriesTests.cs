using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// The series of an unregistered model leave /metrics (issue 23 item 7): before, 300 names
/// took it from 75 KB to 2.74 MB, for good.
/// </summary>
public sealed class MetricSeriesTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Registering_predicting_and_unregistering_leaves_no_series_of_those_models()
    {
        using (var warm = await _server.Predict("digits"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }
        for (var i = 0; i < 12; i++)
        {
            using var register = await _server.Management(HttpMethod.Post, $"/models?url=scalable.mar&model_name=gone{i}");
            Assert.Equal(HttpStatusCode.OK, register.StatusCode);
            using var predict = await _server.Predict($"gone{i}");
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        }
        var during = await Scrape();
        for (var i = 0; i < 12; i++)
        {
            using var unregister = await _server.Management(HttpMethod.Delete, $"/models/gone{i}");
            Assert.Equal(HttpStatusCode.OK, unregister.StatusCode);
        }

        await Scrape(); // a disposed instrument is exported once more, then dropped
        var after = await Scrape();

        Assert.Contains("gone11", during);
        Assert.Contains("ts_inference_requests_total{", during);
        Assert.DoesNotContain("gone", after);
        Assert.Contains(after.Split('\n'), line => line.StartsWith("ts_inference_requests_total{", System.StringComparison.Ordinal) && line.Contains("model_name=\"digits\""));
        Assert.Contains(after.Split('\n'), line => line.StartsWith("HandlerTime", System.StringComparison.Ordinal) && line.Contains("\"digits\""));
    }

    private async Task<string> Scrape()
    {
        using var response = await _server.Metrics();
        return await response.Content.ReadAsStringAsync();
    }
}
