namespace Serve.Generators.Model;

/// <summary>Everything the emitter needs to write one handler; strings and values only.</summary>
/// <param name="Namespace">Escaped for C# (<c>Acme.@event</c>), or null for the global namespace.</param>
/// <param name="ClassName">Escaped for C# (<c>@class</c>).</param>
/// <param name="MetadataName">The namespace-qualified metadata name, from which the hint name is made.</param>
/// <param name="InheritsHandler">A base class implements IHandler already: every IHandler member is stated, so none maps to the base's.</param>
/// <param name="HidesOpenApiResponse">The generated constant hides an inherited member of its name, so it is declared <c>new</c>.</param>
internal sealed record HandlerSpec(
    string HandlerName,
    string? Namespace,
    string ClassName,
    bool IsRecord,
    string MetadataName,
    string FullyQualifiedName,
    bool InheritsHandler,
    bool HidesOpenApiResponse,
    bool HidesOpenApiSchemas,
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
    EquatableArray<JsonObjectSpec> JsonObjects);

/// <summary>How a stage method is called.</summary>
/// <param name="Receiver">What the call is made on: <c>this</c>, the handler type for a static method, or <c>((global::IFoo)this)</c> for an explicit interface implementation.</param>
/// <param name="MethodName">Escaped for C#.</param>
/// <param name="CastArguments">True when other methods share the name: each argument is cast to its parameter's exact type, so the call binds to this method and no other overload.</param>
internal sealed record StageSpec(
    Stage Stage,
    string Receiver,
    string MethodName,
    bool IsAwaitable,
    EquatableArray<StageParameter> Parameters,
    bool CastArguments,
    string? ResultType);

/// <summary>One parameter of a stage method: what the generated call passes, and its exact type.</summary>
internal readonly record struct StageParameter(StageArgument Kind, string Type);

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
