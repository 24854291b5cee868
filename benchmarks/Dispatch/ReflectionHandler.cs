using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve;
using Serve.Runtime;

namespace Benchmarks.Dispatch;

/// <summary>
/// How a server without a generator dispatches: the stage methods found once by their attributes,
/// then invoked through <see cref="MethodInfo.Invoke(object, object[])"/> with boxed arguments,
/// the batch gathered into a list made for the stage's parameter type, and each answer written by
/// <see cref="JsonSerializer"/>'s reflection-based serializer. The same work as the other two.
/// </summary>
public sealed class ReflectionHandler : IHandler
{
    private readonly MethodInfo _preprocess;
    private readonly MethodInfo _inference;
    private readonly MethodInfo _postprocess;
    private readonly Type _inputList;

    public ReflectionHandler(Type handler)
    {
        MethodInfo Stage<TAttribute>() where TAttribute : Attribute =>
            handler.GetMethods(BindingFlags.Public | BindingFlags.Static).Single(m => m.GetCustomAttribute<TAttribute>() is not null);
        (_preprocess, _inference, _postprocess) = (Stage<PreprocessAttribute>(), Stage<InferenceAttribute>(), Stage<PostprocessAttribute>());
        _inputList = typeof(List<>).MakeGenericType(_preprocess.ReturnType);
    }

    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
    {
        var handlerStart = Stopwatch.GetTimestamp();
        var start = handlerStart;
        var inputs = (IList)Activator.CreateInstance(_inputList)!;
        foreach (var request in batch)
        {
            inputs.Add(_preprocess.Invoke(null, [request]));
        }
        context.Metrics.RecordStage(HandlerStage.Preprocess, start);

        start = Stopwatch.GetTimestamp();
        var outputs = _inference.Invoke(null, [inputs]);
        context.Metrics.RecordStage(HandlerStage.Inference, start);

        start = Stopwatch.GetTimestamp();
        var answers = (IList)_postprocess.Invoke(null, [outputs])!;
        var results = new InferenceResult[answers.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var answer = answers[i]!;
            results[i] = InferenceResult.Json(JsonSerializer.SerializeToUtf8Bytes(answer, answer.GetType(), JsonSerializerOptions.Web));
        }
        context.Metrics.RecordStage(HandlerStage.Postprocess, start);
        context.Metrics.RecordHandlerTime(handlerStart);
        return new ValueTask<IReadOnlyList<InferenceResult>>(results);
    }

}
