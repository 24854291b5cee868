using System;
using System.Diagnostics;
using Serve.Server;
using Serve.TorchServe.Http;

namespace Serve.TorchServe;

/// <summary>
/// TorchServe's <c>ts_inference_requests_total</c> and <c>ts_inference_latency_microseconds</c>
/// (labels model_name, model_version, hostname) for one prediction or explanation call, whichever
/// listener took it: the REST inference listener and the gRPC one (Serve.Grpc) both count here, as
/// TorchServe counts its gRPC predictions. They live on the model's own meters
/// (<see cref="ServedModel.Meters"/>), so they go when it is unregistered.
/// </summary>
public static class InferenceCounts
{
    private static readonly string Hostname = Environment.MachineName;

    /// <summary>Counts one call for <paramref name="model"/> that took <paramref name="elapsed"/>, answered or refused.</summary>
    public static void Record(ServedModel model, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tags = new TagList
        {
            { "model_name", model.Name },
            { "model_version", model.Version },
            { "hostname", Hostname },
        };
        model.Meters.Counter<long>(InferenceMetrics.MeterName, "ts_inference_requests_total", description: "Total number of inference requests.").Add(1, tags);
        model.Meters.Counter<double>(InferenceMetrics.MeterName, "ts_inference_latency_microseconds", description: "Cumulative inference duration in microseconds.")
            .Add(elapsed.TotalMicroseconds, tags);
    }
}
