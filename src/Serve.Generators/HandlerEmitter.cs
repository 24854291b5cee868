using System.Linq;
using Serve.Generators.Model;
using static Serve.Generators.GeneratedCode;

namespace Serve.Generators;

/// <summary>
/// Writes a handler's IHandler implementation; text only, no Roslyn symbols. Every local has its
/// type written out, never <c>var</c>, which a user type named <c>var</c> would take over.
/// </summary>
internal static class HandlerEmitter
{
    private const string Results = "global::System.Collections.Generic.IReadOnlyList<global::Serve.Runtime.InferenceResult>";
    private const string Batch = "global::System.Collections.Generic.IReadOnlyList<global::Serve.Runtime.InferenceRequest>";
    private const string Context = "global::Serve.Runtime.HandlerContext";
    private const string Token = "global::System.Threading.CancellationToken";
    private const string Stage = "global::Serve.Runtime.HandlerStage";
    private const string Services = "global::Serve.Runtime.CompilerServices";
    private const string Timestamp = "global::System.Diagnostics.Stopwatch.GetTimestamp()";
    private const string ResultArray = "global::Serve.Runtime.InferenceResult[]";
    private const string ExplainingHandler = "global::Serve.Runtime.IExplainingHandler";
    private const string PreprocessingHandler = "global::Serve.Runtime.IRequestPreprocessingHandler";

    public static string Emit(HandlerSpec handler)
    {
        var w = new SourceWriter().FileHeader();
        if (handler.Namespace is not null)
        {
            w.Open($"namespace {handler.Namespace}");
        }
        // What the handler can do beyond predictions is the interfaces it implements.
        var interfaces = "global::Serve.Runtime.IHandler"
            + (handler.Explain is not null ? ", " + ExplainingHandler : "")
            + (handler.PreprocessPerRequest || handler.InheritsHandler ? ", " + PreprocessingHandler : "");
        w.Open($"partial {(handler.IsRecord ? "record" : "class")} {handler.ClassName} : {interfaces}");

        EmitInitialize(w, handler);
        w.Line();
        EmitRun(w, handler, explain: false);
        if (handler.Explain is not null)
        {
            w.Line();
            EmitRun(w, handler, explain: true);
        }
        if (handler.PreprocessPerRequest)
        {
            w.Line();
            EmitPreprocessOne(w, handler);
        }
        else if (handler.InheritsHandler)
        {
            w.Line();
            EmitNoPreprocessOne(w, handler);
        }
        OpenApiEmitter.EmitMembers(w, handler);

        JsonWriterEmitter.Emit(w, handler);

        w.Close();
        if (handler.Namespace is not null)
        {
            w.Close();
        }
        return w.ToString();
    }

    private static void EmitInitialize(SourceWriter w, HandlerSpec handler)
    {
        var signature = $"global::System.Threading.Tasks.ValueTask global::Serve.Runtime.IHandler.InitializeAsync({Context} context, {Token} cancellationToken)";
        if (handler.Initialize is not { } initialize)
        {
            w.Line("// No [Initialize] stage: load the manifest's serialized file, as TorchServe's BaseHandler does.");
            w.Line(Attribute);
            w.Line(signature + " =>");
            w.Line($"    {Services}.DefaultStages.InitializeAsync(context, cancellationToken);");
            return;
        }

        // A method with nothing to await is not async, or the compiler warns (CS1998).
        w.Line(Attribute);
        w.Open((initialize.IsAwaitable ? "async " : "") + signature);
        w.Line($"long stageStart = {Timestamp};");
        w.Open("try");
        w.Line(Call(initialize, input: null) + ";");
        w.Close();
        EmitCatch(w, handler, $"{Stage}.Initialize");
        w.Line($"context.Metrics.RecordStage({Stage}.Initialize, stageStart);");
        if (!initialize.IsAwaitable)
        {
            w.Line("return default;");
        }
        w.Close();
    }

    /// <summary>HandleAsync (preprocess, inference, postprocess) or ExplainAsync (preprocess, explain).</summary>
    private static void EmitRun(SourceWriter w, HandlerSpec handler, bool explain)
    {
        var isAsync = handler.Preprocess?.IsAwaitable == true
            || (explain ? handler.Explain!.IsAwaitable : handler.Inference?.IsAwaitable != false || handler.Postprocess?.IsAwaitable == true);
        string Return(string value) => isAsync ? $"return {value};" : $"return new global::System.Threading.Tasks.ValueTask<{Results}>({value});";

        w.Line(Attribute);
        w.Line($"{(isAsync ? "async " : "")}global::System.Threading.Tasks.ValueTask<{Results}> {(explain ? ExplainingHandler + ".ExplainAsync" : "global::Serve.Runtime.IHandler.HandleAsync")}(");
        w.Open($"    {Batch} batch, {Context} context, {Token} cancellationToken)");

        var firstStage = handler.Preprocess is not null ? "Preprocess" : explain ? "Explain" : "Inference";
        w.Line($"long handlerStart = {Timestamp};");
        w.Line($"{Stage} stage = {Stage}.{firstStage};");
        w.Open("try");
        w.Line("long stageStart;");
        w.Line();

        // With no [Inference] stage the model runs the preprocess's output as it is.
        var modelRuns = !explain && handler.Inference is null;
        var (input, count, complete) = EmitPreprocess(w, handler, modelRuns, Return);
        if (explain)
        {
            var stage = handler.Explain!;
            w.Line($"// [Explain] {stage.MethodName}, one explanation per request.");
            EmitStageStart(w, "Explain", first: handler.Preprocess is null);
            w.Line($"{stage.ResultType} outputs = {Call(stage, input)};");
            w.Line($"{ResultArray} results = {ToResults(handler.ExplainResult!, "outputs", count, "WriteExplanation")};");
            w.Line($"context.Metrics.RecordStage({Stage}.Explain, stageStart);");
        }
        else
        {
            if (handler.Inference is { } inference)
            {
                w.Line($"// [Inference] {inference.MethodName}.");
                EmitStageStart(w, "Inference", first: handler.Preprocess is null);
                w.Line($"{inference.ResultType} output = {Call(inference, input)};");
            }
            else
            {
                w.Line("// No [Inference] stage: the model loaded at initialize runs the input.");
                EmitStageStart(w, "Inference", first: handler.Preprocess is null);
                w.Line($"{handler.InferenceOutputType} output = await context.GetModel<{handler.PreprocessOutputType}, {handler.InferenceOutputType}>()");
                w.Line($"    .RunAsync({input}, cancellationToken).ConfigureAwait(false);");
            }
            w.Line($"context.Metrics.RecordStage({Stage}.Inference, stageStart);");
            w.Line();

            if (handler.Postprocess is { } postprocess)
            {
                w.Line($"// [Postprocess] {postprocess.MethodName}, one result per request.");
                EmitStageStart(w, "Postprocess", first: false);
                w.Line($"{postprocess.ResultType} outputs = {Call(postprocess, "output")};");
                w.Line($"{ResultArray} results = {ToResults(handler.Result, "outputs", count, "WriteResult")};");
            }
            else
            {
                w.Line("// No [Postprocess] stage: the inference output holds one result per request.");
                EmitStageStart(w, "Postprocess", first: false);
                w.Line($"{ResultArray} results = {ToResults(handler.Result, "output", count, "WriteResult")};");
            }
            w.Line($"context.Metrics.RecordStage({Stage}.Postprocess, stageStart);");
            if (modelRuns && handler.Preprocess is not null)
            {
                // Only the model read the preprocess's output, and the results are bytes now.
                w.Line();
                w.Line("// The model has run the inputs and the results are written: their rented memory goes back to its pool.");
                w.Line($"{Services}.ModelInputs.Release({input});");
            }
        }

        w.Line();
        w.Line("context.Metrics.RecordHandlerTime(handlerStart);");
        w.Line(Return(complete));
        w.Close();
        EmitCatch(w, handler, "stage");
        w.Close();
    }

    /// <summary>Writes the preprocess stage; returns the expressions for its output, the request count and the final results.</summary>
    private static (string Input, string Count, string Complete) EmitPreprocess(SourceWriter w, HandlerSpec handler, bool modelRuns, System.Func<string, string> returnStatement)
    {
        if (handler.Preprocess is not { } preprocess)
        {
            w.Line("// No [Preprocess] stage: the batch goes to the next stage as it is.");
            return ("batch", "batch.Count", "results");
        }

        if (!handler.PreprocessPerRequest)
        {
            w.Line($"// [Preprocess] {preprocess.MethodName}, on the whole batch.");
            EmitStageStart(w, "Preprocess", first: true);
            w.Line($"{preprocess.ResultType} input = {Call(preprocess, "batch")};");
            w.Line($"context.Metrics.RecordStage({Stage}.Preprocess, stageStart);");
            w.Line();
            return ("input", "batch.Count", "results");
        }

        w.Line($"// [Preprocess] {preprocess.MethodName}, once per request; a request it rejects fails alone.");
        EmitStageStart(w, "Preprocess", first: true);
        w.Line($"{Services}.PreparedBatch<{preprocess.ResultType}> prepared = new {Services}.PreparedBatch<{preprocess.ResultType}>(batch.Count);");
        w.Line("bool preprocessedHere = false;");
        w.Open("for (int i = 0; i < batch.Count; i++)");
        w.Open($"if (batch[i].TryGetPreprocessed(out {preprocess.ResultType} preprocessed))");
        w.Line("// The server ran it as the request arrived, and timed it there.");
        w.Line("prepared.Add(preprocessed);");
        w.Line("continue;");
        w.Close();
        w.Line("preprocessedHere = true;");
        w.Open("try");
        w.Line($"prepared.Add({Call(preprocess, "batch[i]")});");
        w.Close();
        w.Open("catch (global::Serve.Runtime.InvalidRequestException rejection)");
        w.Line("prepared.Reject(i, rejection);");
        w.Close();
        w.Close();
        w.Open("if (preprocessedHere)");
        w.Line($"context.Metrics.RecordStage({Stage}.Preprocess, stageStart);");
        w.Close();
        if (modelRuns)
        {
            w.Line("// A request whose tensor the model cannot take fails alone, before the batch runs.");
            w.Line("prepared.RejectMisfits(context);");
        }
        w.Open("if (prepared.IsEmpty)");
        w.Line("context.Metrics.RecordHandlerTime(handlerStart);");
        w.Line(returnStatement("prepared.Rejections()"));
        w.Close();
        w.Line();
        return ("prepared.Inputs", "prepared.Inputs.Count", "prepared.Complete(results)");
    }

    /// <summary>The per-request preprocess on its own, for the server to run as each request arrives.</summary>
    private static void EmitPreprocessOne(SourceWriter w, HandlerSpec handler)
    {
        var preprocess = handler.Preprocess!;
        if (handler.InheritsHandler)
        {
            // A base handler may have declined a per-request preprocess of its own base; this one runs its own.
            w.Line(Attribute);
            w.Line($"bool {PreprocessingHandler}.PreprocessesEachRequest => true;");
            w.Line();
        }
        w.Line(Attribute);
        w.Line($"{(preprocess.IsAwaitable ? "async " : "")}global::System.Threading.Tasks.ValueTask<global::Serve.Runtime.InferenceRequest> {PreprocessingHandler}.PreprocessAsync(");
        w.Open($"    global::Serve.Runtime.InferenceRequest request, {Context} context, {Token} cancellationToken)");
        w.Line($"long stageStart = {Timestamp};");
        w.Line($"{preprocess.ResultType} input;");
        w.Open("try");
        w.Line($"input = {Call(preprocess, "request")};");
        w.Close();
        w.Open("catch (global::Serve.Runtime.InvalidRequestException rejection)");
        w.Line("// A refused request took preprocess time too, as it does in a batch.");
        w.Line($"context.Metrics.RecordStage({Stage}.Preprocess, stageStart);");
        w.Line($"throw new global::Serve.Runtime.HandlerStageException({Literal(handler.HandlerName)}, {Stage}.Preprocess, rejection);");
        w.Close();
        EmitCatch(w, handler, $"{Stage}.Preprocess");
        w.Line($"context.Metrics.RecordStage({Stage}.Preprocess, stageStart);");
        w.Line(preprocess.IsAwaitable
            ? $"return request.WithPreprocessed<{preprocess.ResultType}>(input);"
            : $"return new global::System.Threading.Tasks.ValueTask<global::Serve.Runtime.InferenceRequest>(request.WithPreprocessed<{preprocess.ResultType}>(input));");
        w.Close();
    }

    /// <summary>
    /// Declines a per-request preprocess: a base class that is a handler may have one, and a class
    /// cannot drop the interface its base implements, so this handler says it preprocesses batches.
    /// </summary>
    private static void EmitNoPreprocessOne(SourceWriter w, HandlerSpec handler)
    {
        w.Line("// A base class is a handler too: these replace its per-request preprocess, which this handler does not run.");
        w.Line(Attribute);
        w.Line($"bool {PreprocessingHandler}.PreprocessesEachRequest => false;");
        w.Line();
        w.Line(Attribute);
        w.Line($"global::System.Threading.Tasks.ValueTask<global::Serve.Runtime.InferenceRequest> {PreprocessingHandler}.PreprocessAsync(");
        w.Line($"    global::Serve.Runtime.InferenceRequest request, {Context} context, {Token} cancellationToken) =>");
        w.Line($"    throw new global::System.NotSupportedException({Literal($"Handler '{handler.HandlerName}' preprocesses whole batches, not one request at a time.")});");
    }

    private static void EmitStageStart(SourceWriter w, string stage, bool first)
    {
        if (!first)
        {
            w.Line($"stage = {Stage}.{stage};");
        }
        w.Line($"stageStart = {Timestamp};");
    }

    private static void EmitCatch(SourceWriter w, HandlerSpec handler, string stage)
    {
        w.Open("catch (global::System.Exception exception) when (exception is not global::System.OperationCanceledException)");
        w.Line($"throw new global::Serve.Runtime.HandlerStageException({Literal(handler.HandlerName)}, {stage}, exception);");
        w.Close();
    }

    /// <summary>
    /// The call of a stage method. Where other methods share its name, the input is cast to the
    /// parameter's exact type, so overload resolution can pick this method only.
    /// </summary>
    private static string Call(StageSpec stage, string? input)
    {
        var arguments = string.Join(", ", stage.Parameters.Select(parameter => parameter.Kind switch
        {
            StageArgument.Input => stage.CastArguments ? $"({parameter.Type})({input})" : input!,
            StageArgument.Context => "context",
            _ => "cancellationToken",
        }));
        var call = $"{stage.Receiver}.{stage.MethodName}({arguments})";
        return stage.IsAwaitable ? $"await {call}.ConfigureAwait(false)" : call;
    }

    private static string ToResults(ResultSpec result, string outputs, string count, string jsonWriter) => result.Kind switch
    {
        ResultKind.Json => $"{Services}.HandlerResults.FromJson<{result.ElementType}>({outputs}, {count}, {JsonWriterEmitter.ClassName}.{jsonWriter})",
        ResultKind.JsonTypeInfo => $"{Services}.HandlerResults.FromJson<{result.ElementType}>({outputs}, {count}, {result.JsonContextType}.Default)",
        ResultKind.Text => $"{Services}.HandlerResults.FromText({outputs}, {count})",
        ResultKind.Bytes => $"{Services}.HandlerResults.FromBytes({outputs}, {count})",
        _ => $"{Services}.HandlerResults.FromResults({outputs}, {count})",
    };
}
