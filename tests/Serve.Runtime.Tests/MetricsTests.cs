using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>
/// Generated handlers time each stage and the whole call under TorchServe's metric names, tagged
/// with the model name. Each test listens for its own unique model name, so tests running in
/// parallel do not see each other's measurements.
/// </summary>
public class MetricsTests
{
    private static readonly string[] HandleInstruments = ["HandlerTime", "ts_handler_inference", "ts_handler_postprocess", "ts_handler_preprocess"];

    [Fact]
    public async Task One_call_records_one_measurement_per_stage_and_one_handler_time()
    {
        var context = Context("metrics");
        using var recorder = new Recorder(context.ModelName);

        await ((IHandler)new SleepyHandler()).HandleAsync(Batch("a", "b"), context, CancellationToken.None);

        Assert.Equal(HandleInstruments, recorder.Instruments());
        foreach (var instrument in HandleInstruments)
        {
            var value = Assert.Single(recorder.Values(instrument));
            Assert.True(value >= 0, $"{instrument} recorded {value}");
        }
    }

    [Fact]
    public async Task A_declared_initialize_stage_is_timed()
    {
        var context = Context("metrics-initialize");
        using var recorder = new Recorder(context.ModelName);

        await ((IHandler)new SyncStagesHandler()).InitializeAsync(context, CancellationToken.None);

        Assert.Equal(["ts_handler_initialize"], recorder.Instruments());
        Assert.True(Assert.Single(recorder.Values("ts_handler_initialize")) >= 0);
    }

    [Theory]
    [InlineData("preprocess")]
    [InlineData("inference")]
    [InlineData("postprocess")]
    public async Task The_time_of_a_slow_stage_is_recorded_for_that_stage(string stage)
    {
        // A first, unrecorded call compiles every stage, so no fast stage is timed with the JIT in it.
        await ((IHandler)new SleepyHandler()).HandleAsync(Batch("fast"), Context("metrics-warm-up"), CancellationToken.None);
        var context = Context("metrics-" + stage);
        using var recorder = new Recorder(context.ModelName);

        await ((IHandler)new SleepyHandler()).HandleAsync(Batch("fast", "sleep:" + stage), context, CancellationToken.None);

        var slow = Assert.Single(recorder.Values("ts_handler_" + stage));
        Assert.True(slow >= SleepyHandler.SleepMilliseconds - 5, $"ts_handler_{stage} recorded {slow} ms around a {SleepyHandler.SleepMilliseconds} ms sleep");
        Assert.True(Assert.Single(recorder.Values("HandlerTime")) >= slow);
        foreach (var other in new[] { "preprocess", "inference", "postprocess" }.Where(other => other != stage))
        {
            var fast = Assert.Single(recorder.Values("ts_handler_" + other));
            Assert.True(fast < slow, $"ts_handler_{other} recorded {fast} ms, no less than the sleeping {stage} stage's {slow} ms");
        }
    }

    [Fact]
    public async Task Explaining_times_preprocess_explain_and_the_whole_call()
    {
        var context = Context("metrics-explain");
        using var recorder = new Recorder(context.ModelName);

        await ((IExplainingHandler)new SleepyHandler()).ExplainAsync(Batch("sleep:explain"), context, CancellationToken.None);

        Assert.Equal(["HandlerTime", "ts_handler_explain", "ts_handler_preprocess"], recorder.Instruments());
        Assert.True(Assert.Single(recorder.Values("ts_handler_explain")) >= SleepyHandler.SleepMilliseconds - 5);
    }

    /// <summary>Collects the Serve meter's measurements tagged with one model name.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Instrument, double Value)> _measurements = [];

        public Recorder(string modelName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == HandlerMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "ModelName" && Equals(tag.Value, modelName))
                    {
                        lock (_measurements)
                        {
                            _measurements.Add((instrument.Name, value));
                        }
                    }
                }
            });
            _listener.Start();
        }

        public string[] Instruments()
        {
            lock (_measurements)
            {
                return _measurements.Select(m => m.Instrument).Distinct().Order(StringComparer.Ordinal).ToArray();
            }
        }

        public double[] Values(string instrument)
        {
            lock (_measurements)
            {
                return _measurements.Where(m => m.Instrument == instrument).Select(m => m.Value).ToArray();
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
