namespace Serve.Generators.Model;

/// <summary>Everything the emitter needs to write one handler; strings and values only.</summary>
internal sealed record HandlerSpec(
    string HandlerName,
    string? Namespace,
    string ClassName,
    string FullyQualifiedName,
    StageSpec? Initialize,
    StageSpec? Preprocess,
    bool PreprocessPerRequest,
    string PreprocessOutputType,
    StageSpec? Inference,
    string InferenceOutputType,
    StageSpec? Postprocess,
    ResultSpec Result,
    StageSpec? Explain,
    ResultSpec? ExplainResult,
    EquatableArray<JsonObjectSpec> JsonObjects)
{
    public string HintName => (Namespace is null ? "" : Namespace + ".") + ClassName + ".Serve.g.cs";
}

/// <summary>How a stage method is called.</summary>
internal sealed record StageSpec(
    string MethodName,
    bool IsStatic,
    bool IsAwaitable,
    EquatableArray<StageArgument> Arguments,
    string? ResultType);

internal enum StageArgument
{
    Input,
    Context,
    CancellationToken,
}

internal enum ResultKind
{
    /// <summary>Written by emitted Utf8JsonWriter code.</summary>
    Json,
    /// <summary>Written with a JsonTypeInfo from the user's JsonSerializerContext.</summary>
    JsonTypeInfo,
    Text,
    Bytes,
    Results,
}

/// <summary>The per-request element type of a stage's list output, and how it becomes bytes.</summary>
internal sealed record ResultSpec(ResultKind Kind, string ElementType, JsonValueSpec? Json, string? JsonContextType);
