using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests;

/// <summary>
/// Each server's /metrics holds its own host's series only: its meters come from its host's
/// IMeterFactory, and its exporter keeps to that factory's meters. Two servers in one process
/// (as tests run them) no longer see each other's models or status counts.
/// </summary>
public sealed class HostMetricsTests : IAsyncLifetime
{
    private TorchServeServer _first = null!;
    private TorchServeServer _second = null!;

    public async Task InitializeAsync()
    {
        _first = await TorchServeServer.StartAsync();
        _second = await TorchServeServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    [Fact]
    public async Task The_second_servers_metrics_have_none_of_the_first_servers_models_or_requests()
    {
        var secondBefore = await Scrape(_second);
        using (var register = await _first.Management(HttpMethod.Post, "/models?url=scalable.mar&model_name=only-first"))
        {
            Assert.Equal(HttpStatusCode.OK, register.StatusCode);
        }
        foreach (var model in new[] { "only-first", "digits" })
        {
            using var predict = await _first.Predict(model);
            Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        }
        for (var i = 0; i < 3; i++)
        {
            using var missing = await _first.Predict("not-served");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var first = await Scrape(_first);
        var second = await Scrape(_second);

        // The first server exports what it served...
        Assert.Contains(first, s => s.Name == "ts_inference_requests_total" && s.Labels.GetValueOrDefault("model_name") == "only-first");
        Assert.Contains(first, s => s.Name == "ts_inference_requests_total" && s.Labels.GetValueOrDefault("model_name") == "digits");
        Assert.Contains(first, s => s.Name == "HandlerTime_count" && s.Labels.GetValueOrDefault("ModelName") == "only-first");
        Assert.True(Sum(first, "Requests4XX") >= 3, "the first server answered three 404s");
        // ...and the second none of it: no series of its models, no count of its answers.
        Assert.DoesNotContain(second, s => s.Labels.Values.Contains("only-first"));
        var served = second.Where(s => s.Name.StartsWith("ts_inference", StringComparison.Ordinal) || s.Name.StartsWith("HandlerTime", StringComparison.Ordinal)).ToArray();
        Assert.True(served.Length == 0, "the second server served nothing, yet exports " + string.Join("; ", served.Select(Describe)));
        Assert.Equal(Sum(secondBefore, "Requests4XX"), Sum(second, "Requests4XX"));
        // Its own host-wide series are still there.
        Assert.Contains(second, s => s.Name == "Requests2XX");
    }

    private static async Task<PrometheusSample[]> Scrape(TorchServeServer server)
    {
        using var response = await server.Metrics();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. PrometheusSample.Parse(await response.Content.ReadAsStringAsync())];
    }

    private static string Describe(PrometheusSample sample) =>
        $"{sample.Name}{{{string.Join(",", sample.Labels.Select(label => $"{label.Key}={label.Value}"))}}} {sample.Value}";

    private static double Sum(PrometheusSample[] samples, string name) => samples.Where(s => s.Name == name).Sum(s => s.Value);
}
