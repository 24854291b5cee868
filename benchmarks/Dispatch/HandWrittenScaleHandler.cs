using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Benchmarks.Dispatch;

/// <summary>
/// What a careful person writes by hand for <see cref="ScaleHandler"/>'s stages: the same calls,
/// stage timings and JSON, with no per-request error isolation beyond what the generated code does.
/// </summary>
public sealed class HandWrittenScaleHandler : IHandler
{
    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
    {
        var handlerStart = Stopwatch.GetTimestamp();
        var start = handlerStart;
        var inputs = new float[batch.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = batch[i].TryGetPreprocessed<float>(out var input) ? input : ScaleHandler.Preprocess(batch[i]);
        }
        context.Metrics.RecordStage(HandlerStage.Preprocess, start);

        start = Stopwatch.GetTimestamp();
        var outputs = ScaleHandler.Run(inputs);
        context.Metrics.RecordStage(HandlerStage.Inference, start);

        start = Stopwatch.GetTimestamp();
        var answers = ScaleHandler.Postprocess(outputs);
        var results = new InferenceResult[answers.Length];
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer);
        for (var i = 0; i < results.Length; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("value", answers[i].Value);
            writer.WriteEndObject();
            writer.Flush();
            results[i] = InferenceResult.Json(buffer.WrittenSpan.ToArray());
            buffer.ResetWrittenCount();
            writer.Reset();
        }
        context.Metrics.RecordStage(HandlerStage.Postprocess, start);
        context.Metrics.RecordHandlerTime(handlerStart);
        return new ValueTask<IReadOnlyList<InferenceResult>>(results);
    }

}
