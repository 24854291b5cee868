using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace Serve.Runtime;

/// <summary>
/// Traces of requests: an activity per request (<c>serve.request</c>) with a child span for each
/// stage it went through: <c>serve.queue_wait</c>, <c>serve.preprocess</c> (per request, as it
/// arrived), and the batch's <c>serve.preprocess</c> / <c>serve.inference</c> /
/// <c>serve.postprocess</c> / <c>serve.explain</c>, tagged with model, version, batch size and
/// device. A batch serves several requests, each with its own trace, so its stage spans are
/// recorded once under each request. Nothing is recorded unless a listener (OpenTelemetry's
/// <c>AddSource(ServeTracing.SourceName)</c>) subscribes.
/// </summary>
public static class ServeTracing
{
    /// <summary>The <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string SourceName = "Serve";

    /// <summary>Tag: the model's name.</summary>
    public const string ModelTag = "serve.model";

    /// <summary>Tag: the model's version.</summary>
    public const string VersionTag = "serve.model_version";

    /// <summary>Tag: how many requests the batch held.</summary>
    public const string BatchSizeTag = "serve.batch_size";

    /// <summary>Tag: the device the worker runs on (cpu, cuda:0, ...).</summary>
    public const string DeviceTag = "serve.device";

    /// <summary>The source every Serve activity comes from.</summary>
    public static ActivitySource Source { get; } = new(SourceName);

    // The batch a worker is running, seen by the stage timings of the handler it calls.
    private static readonly AsyncLocal<BatchScope?> CurrentBatch = new();

    /// <summary>
    /// Marks the batch a worker runs, so the handler's stage timings (<see cref="HandlerMetrics.RecordStage"/>)
    /// become spans under each of its requests; null (nothing to do) when no one listens or no request is traced.
    /// Dispose it when the handler call has been started.
    /// </summary>
    /// <param name="requests">Each request's trace context (default for a request not traced).</param>
    /// <param name="model">The model's name.</param>
    /// <param name="version">The model's version.</param>
    /// <param name="device">The worker's device.</param>
    /// <param name="preprocessedEachRequest">True when preprocess ran per request already (its batch stage is then not a span).</param>
    public static IDisposable? BeginBatch(IReadOnlyList<ActivityContext> requests, string model, string version, string device, bool preprocessedEachRequest)
    {
        if (!Source.HasListeners() || !AnyTraced(requests))
        {
            return null;
        }
        var scope = new BatchScope(requests, model, version, device, preprocessedEachRequest);
        CurrentBatch.Value = scope;
        return scope;
    }

    /// <summary>Records a span under <paramref name="parent"/> that ends now and lasted <paramref name="elapsed"/>.</summary>
    public static void RecordSpan(string name, ActivityContext parent, TimeSpan elapsed, string model, string version, int? batchSize = null, string? device = null)
    {
        if (parent == default || !Source.HasListeners())
        {
            return;
        }
        var start = DateTimeOffset.UtcNow - elapsed;
        // Made and ended here without becoming Activity.Current: this thread goes on with other work.
        var previous = Activity.Current;
        var span = Source.StartActivity(name, ActivityKind.Internal, parent, startTime: start);
        if (span is not null)
        {
            span.SetTag(ModelTag, model);
            span.SetTag(VersionTag, version);
            if (batchSize is { } size)
            {
                span.SetTag(BatchSizeTag, size);
            }
            if (device is not null)
            {
                span.SetTag(DeviceTag, device);
            }
            span.Stop();
        }
        Activity.Current = previous;
    }

    /// <summary>Called by <see cref="HandlerMetrics.RecordStage"/>: the stage as a span under each request of the batch being run, if any.</summary>
    internal static void RecordStage(HandlerStage stage, long startTimestamp)
    {
        if (CurrentBatch.Value is not { } batch || (stage == HandlerStage.Preprocess && batch.PreprocessedEachRequest))
        {
            return;
        }
        var name = "serve." + stage.DisplayName();
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        foreach (var request in batch.Requests)
        {
            RecordSpan(name, request, elapsed, batch.Model, batch.Version, batch.Requests.Count, batch.Device);
        }
    }

    private static bool AnyTraced(IReadOnlyList<ActivityContext> requests)
    {
        foreach (var request in requests)
        {
            if (request != default)
            {
                return true;
            }
        }
        return false;
    }

    private sealed record BatchScope(IReadOnlyList<ActivityContext> Requests, string Model, string Version, string Device, bool PreprocessedEachRequest) : IDisposable
    {
        public void Dispose() => CurrentBatch.Value = null;
    }
}
