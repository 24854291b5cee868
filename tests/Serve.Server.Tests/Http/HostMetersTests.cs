using System;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

/// <summary>
/// An app's own IMeterFactory makes the server's meters: each model's series and the host-wide
/// ones (QueueTime) are on meters whose Scope is that app's factory, so an exporter that keeps to
/// one factory's meters sees one app, also with two apps in one process.
/// </summary>
public sealed class HostMetersTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-meters-").FullName;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentQueue<(string Instrument, object? Scope, string? Model)> _measured = new();
    private readonly MeterListener _listener = new();
    private KestrelTestHost _first = null!;
    private KestrelTestHost _second = null!;

    public async Task InitializeAsync()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "HandlerTime" or "QueueTime" or "ts_queue_latency_microseconds")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            string? model = null;
            foreach (var tag in tags)
            {
                model ??= tag.Key is "ModelName" or "model_name" ? tag.Value as string : null;
            }
            _measured.Enqueue((instrument.Name, instrument.Meter.Scope, model ?? ModelTag(instrument.Meter)));
        });
        _listener.Start();
        _first = await StartAsync("first-" + _suffix);
        _second = await StartAsync("second-" + _suffix);
    }

    private static string? ModelTag(Meter meter) => meter.Tags?.FirstOrDefault(tag => tag.Key == "model_name").Value as string;

    private async Task<KestrelTestHost> StartAsync(string model)
    {
        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Services.AddServe(options => options.Models.Add(new ModelOptions { Name = model, Path = _directory, Handler = "echo" })).AddServeHandlers();
        return await KestrelTestHost.StartAsync(builder, app => app.MapServeEndpoints());
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _first.DisposeAsync();
        await _second.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Each_apps_series_are_on_meters_of_its_own_factory()
    {
        using (var first = await _first.Client.PostAsync("/predictions/first-" + _suffix, new StringContent("a")))
        using (var second = await _second.Client.PostAsync("/predictions/second-" + _suffix, new StringContent("b")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }
        var firstFactory = _first.Services.GetRequiredService<IMeterFactory>();
        var secondFactory = _second.Services.GetRequiredService<IMeterFactory>();
        var measured = _measured.ToArray();

        foreach (var (model, factory) in new[] { ("first-" + _suffix, firstFactory), ("second-" + _suffix, secondFactory) })
        {
            var ofModel = measured.Where(m => m.Model == model).ToArray();
            Assert.Contains(ofModel, m => m.Instrument == "HandlerTime");
            Assert.Contains(ofModel, m => m.Instrument == "ts_queue_latency_microseconds");
            Assert.All(ofModel, m => Assert.Same(factory, m.Scope));
            Assert.Contains(measured, m => m.Instrument == "QueueTime" && ReferenceEquals(m.Scope, factory));
        }
    }
}
