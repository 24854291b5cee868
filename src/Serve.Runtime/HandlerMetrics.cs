using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serve.Runtime;

/// <summary>
/// Stage timings of one model, in milliseconds, under TorchServe's metric names
/// (HandlerTime, PredictionTime, ts_handler_preprocess...), tagged with ModelName.
/// Recording takes a <see cref="Stopwatch.GetTimestamp"/> start and allocates nothing.
/// </summary>
public sealed class HandlerMetrics
{
    /// <summary>The name of the <see cref="Meter"/> every Serve instrument belongs to.</summary>
    public const string MeterName = "Serve";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> HandlerTime = CreateHistogram("HandlerTime", "Time the handler took for a batch: all stages and result writing.");
    private static readonly Histogram<double> PredictionTime = CreateHistogram("PredictionTime", "Time a worker spent on a batch, as the worker saw it.");

    /// <summary>One histogram per stage, indexed by <see cref="HandlerStage"/>: ts_handler_preprocess...</summary>
    private static readonly Histogram<double>[] Stages = Array.ConvertAll(Enum.GetValues<HandlerStage>(), stage =>
        CreateHistogram("ts_handler_" + stage.DisplayName(), $"Time in the {stage.DisplayName()} stage."));

    private readonly KeyValuePair<string, object?> _modelTag;

    /// <summary>Metrics tagged with <paramref name="modelName"/>.</summary>
    public HandlerMetrics(string modelName)
    {
        ModelName = modelName;
        _modelTag = new KeyValuePair<string, object?>("ModelName", modelName);
    }

    /// <summary>The ModelName tag of every measurement.</summary>
    public string ModelName { get; }

    /// <summary>Records the time since <paramref name="startTimestamp"/> for a stage (and, in a traced batch, its span: <see cref="ServeTracing"/>).</summary>
    public void RecordStage(HandlerStage stage, long startTimestamp)
    {
        if ((uint)stage >= (uint)Stages.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(stage));
        }
        var histogram = Stages[(int)stage];
        histogram.Record(ElapsedMilliseconds(startTimestamp), _modelTag);
        ServeTracing.RecordStage(stage, startTimestamp);
    }

    /// <summary>Records the handler's whole time for a batch.</summary>
    public void RecordHandlerTime(long startTimestamp) => HandlerTime.Record(ElapsedMilliseconds(startTimestamp), _modelTag);

    /// <summary>Records a worker's time for a batch.</summary>
    public void RecordPredictionTime(long startTimestamp) => PredictionTime.Record(ElapsedMilliseconds(startTimestamp), _modelTag);

    private static double ElapsedMilliseconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    private static Histogram<double> CreateHistogram(string name, string description) =>
        Meter.CreateHistogram<double>(name, unit: "ms", description: description);
}
