using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests;

/// <summary>
/// TorchServe's default metrics (ts/configs/metrics.yaml) on the metrics listener, with its names
/// and labels, exported by OpenTelemetry's Prometheus exporter.
/// </summary>
public sealed class TorchServeMetricsTests : IAsyncLifetime
{
    private EchoServer _server = null!;
    private readonly HttpClient _client = new();

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<PrometheusSample[]> Scrape()
    {
        var text = await _client.GetStringAsync(new Uri(_server.Config.MetricsAddress, "/metrics"));
        return [.. PrometheusSample.Parse(text)];
    }

    private static double Sum(PrometheusSample[] samples, string name, Func<PrometheusSample, bool>? where = null) =>
        samples.Where(sample => sample.Name == name && (where?.Invoke(sample) ?? true)).Sum(sample => sample.Value);

    private static bool IsHost(PrometheusSample sample) =>
        sample.Labels.GetValueOrDefault("Level") == "Host" && sample.Labels.GetValueOrDefault("Hostname") == Environment.MachineName;

    [Fact]
    public async Task Queue_latency_is_counted_per_model_in_microseconds()
    {
        static bool Sized(PrometheusSample sample) =>
            sample.Labels.GetValueOrDefault("model_name") == "sized" && sample.Labels.GetValueOrDefault("model_version") == "1.0"
            && sample.Labels.GetValueOrDefault("hostname") == Environment.MachineName;
        var before = Sum(await Scrape(), "ts_queue_latency_microseconds", Sized);

        var requests = Enumerable.Range(0, 8).Select(_ => _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/predictions/sized"), new StringContent("3")));
        foreach (var response in await Task.WhenAll(requests))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }
        var after = await Scrape();

        Assert.True(Sum(after, "ts_queue_latency_microseconds", Sized) > before, "eight requests waited in the queue for some microseconds");
        Assert.Contains(after, sample => sample.Name == "QueueTime" && IsHost(sample) && sample.Value >= 0);
    }

    [Fact]
    public async Task Requests_are_counted_by_status_class_on_every_listener()
    {
        var before = await Scrape();

        (await _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/predictions/sized"), new StringContent("1"))).Dispose();
        (await _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/predictions/nope"), new StringContent("1"))).Dispose();
        (await _client.GetAsync(new Uri(_server.Config.ManagementAddress, "/models/nope"))).Dispose();
        (await _client.PostAsync(new Uri(_server.Config.InferenceAddress, "/predictions/sized"), new StringContent("not a number"))).Dispose();
        var after = await Scrape();

        // This server's counts only (other tests' servers count on their own hosts' meters), each
        // counted as its answer starts: the first scrape's own answer is in the second, not in itself.
        Assert.Equal(2, Sum(after, "Requests2XX", IsHost) - Sum(before, "Requests2XX", IsHost)); // the prediction and the first scrape
        Assert.Equal(2, Sum(after, "Requests4XX", IsHost) - Sum(before, "Requests4XX", IsHost)); // two 404s
        Assert.Equal(1, Sum(after, "Requests5XX", IsHost) - Sum(before, "Requests5XX", IsHost)); // the handler's failure
        Assert.Contains(after, sample => sample.Name == "OpenSessions" && sample.Labels.GetValueOrDefault("hostname") == Environment.MachineName && sample.Value >= 1);
    }

    [Fact]
    public async Task System_metrics_have_TorchServes_names_labels_and_units()
    {
        await Scrape(); // CPUUtilization is measured between two scrapes, as psutil.cpu_percent() between two calls
        var samples = await Scrape();
        double Host(string name) => Assert.Single(samples, sample => sample.Name == name && IsHost(sample)).Value;

        Assert.InRange(Host("CPUUtilization"), 0, 100);
        Assert.InRange(Host("MemoryUtilization"), 0.1, 100);
        Assert.InRange(Host("DiskUtilization"), 0.1, 100);
        var meminfo = File.ReadAllLines("/proc/meminfo").ToDictionary(line => line[..line.IndexOf(':')], line => double.Parse(line[(line.IndexOf(':') + 1)..].Trim().Split(' ')[0]));
        var totalMegabytes = meminfo["MemTotal"] / 1024;
        Assert.InRange(Host("MemoryUsed"), 1, totalMegabytes);
        Assert.InRange(Host("MemoryAvailable"), 1, totalMegabytes);
        var root = new DriveInfo("/");
        const double Gigabyte = 1 << 30;
        Assert.Equal(root.AvailableFreeSpace / Gigabyte, Host("DiskAvailable"), 0.5);
        Assert.Equal((root.TotalSize - root.TotalFreeSpace) / Gigabyte, Host("DiskUsage"), 0.5);
        Assert.DoesNotContain(samples, sample => sample.Name.StartsWith("GPU", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Disable_system_metrics_leaves_them_out()
    {
        await using var quiet = await EchoServer.StartAsync("disable_system_metrics=true");
        (await _client.PostAsync(new Uri(quiet.Config.InferenceAddress, "/predictions/sized"), new StringContent("1"))).Dispose();

        var text = await _client.GetStringAsync(new Uri(quiet.Config.MetricsAddress, "/metrics"));

        Assert.DoesNotContain("CPUUtilization", text);
        Assert.DoesNotContain("MemoryUsed", text);
        Assert.Contains("Requests2XX", text);
    }
}
