using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Serve.Runtime;
using Serve.Server.Metrics;

namespace Serve.Server;

/// <summary>
/// How long requests wait in a model's queue, under TorchServe's names (ts/configs/metrics.yaml):
/// <c>ts_queue_latency_microseconds</c>, a counter of the summed wait labelled model_name,
/// model_version and hostname, and <c>QueueTime</c>, a gauge of the last wait in milliseconds
/// labelled Level=Host and Hostname. A wait ends when the batch aggregator takes the request.
/// </summary>
public static class QueueMetrics
{
    /// <summary>The meter these instruments belong to.</summary>
    public const string MeterName = "Serve.Server";

    // Host-wide: one series per host, on the host's meter.
    private static readonly HostInstrument<Gauge<double>> QueueTime = new(MeterName, meter => meter.CreateGauge<double>(
        "QueueTime", "Milliseconds", "Time the last request waited in a queue, in milliseconds."));
    private static readonly string Hostname = Environment.MachineName;

    internal static void RecordTaken(ModelMeters meters, string modelName, string modelVersion, TimeSpan waited)
    {
        // On the model's meter, so the series goes when the model is unregistered.
        meters.Counter<double>(MeterName, "ts_queue_latency_microseconds", "Microseconds", "Cumulative queue duration in microseconds.")
            .Add(waited.TotalMicroseconds, new TagList
        {
            { "model_name", modelName },
            { "model_version", modelVersion },
            { "hostname", Hostname },
            });
        QueueTime.For(meters.HostMeters).Record(waited.TotalMilliseconds, new KeyValuePair<string, object?>("Level", "Host"), new KeyValuePair<string, object?>("Hostname", Hostname));
    }
}
