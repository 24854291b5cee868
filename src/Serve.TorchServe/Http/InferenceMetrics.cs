using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Serve.Server;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's frontend metrics under its names (docs/metrics.md): <c>ts_inference_requests_total</c>
/// and <c>ts_inference_latency_microseconds</c>, counters labelled model_name, model_version and
/// hostname, measured around each prediction or explanation on the inference listener
/// (<see cref="InferenceCounts"/>, which the gRPC listener counts its calls with too).
/// </summary>
internal sealed class InferenceMetrics(ModelManager models, ListenerApis listeners)
{
    /// <summary>The meter these instruments belong to.</summary>
    public const string MeterName = "Serve.TorchServe";

    /// <summary>Middleware: times the request when it is for a served model's predictions or explanations.</summary>
    public async Task Measure(HttpContext context, RequestDelegate next)
    {
        if (listeners.Of(context) != ServeApi.Inference || ModelNameOf(context.Request.Path) is not { } name || !models.TryGet(name, context.Request.RouteValues["version"] as string, out var model))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        // The latency runs until the answer starts, when it is also counted (AnswerStart).
        await AnswerStart.Record(context, next, _ => InferenceCounts.Record(model, Stopwatch.GetElapsedTime(started)));
    }

    private static string? ModelNameOf(PathString path)
    {
        var value = path.Value;
        if (value is null)
        {
            return null;
        }
        foreach (var prefix in Prefixes)
        {
            if (value.StartsWith(prefix, StringComparison.Ordinal) && value.Length > prefix.Length)
            {
                var rest = value[prefix.Length..];
                var slash = rest.IndexOf('/');
                return slash < 0 ? rest : rest[..slash];
            }
        }
        return null;
    }

    private static readonly IReadOnlyList<string> Prefixes = ["/predictions/", "/explanations/"];
}
