using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>The types the parser compares against, resolved once per compilation.</summary>
internal sealed class KnownTypes
{
    public const string HandlerAttribute = "Serve.HandlerAttribute";

    public static readonly string[] StageAttributes =
    [
        "Serve.InitializeAttribute",
        "Serve.PreprocessAttribute",
        "Serve.InferenceAttribute",
        "Serve.PostprocessAttribute",
        "Serve.ExplainAttribute",
    ];

    private KnownTypes(Compilation compilation, INamedTypeSymbol inferenceRequest, INamedTypeSymbol handlerContext, INamedTypeSymbol inferenceResult)
    {
        Compilation = compilation;
        InferenceRequest = inferenceRequest;
        HandlerContext = handlerContext;
        InferenceResult = inferenceResult;
        CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
        Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
        TaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task`1");
        ValueTask = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask");
        ValueTaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask`1");
        ReadOnlyMemory = compilation.GetTypeByMetadataName("System.ReadOnlyMemory`1");
        KeyValuePair = compilation.GetTypeByMetadataName("System.Collections.Generic.KeyValuePair`2");
        IEnumerableOfT = compilation.GetSpecialType(SpecialType.System_Collections_Generic_IEnumerable_T);
        IReadOnlyListOfT = compilation.GetSpecialType(SpecialType.System_Collections_Generic_IReadOnlyList_T);
        Guid = compilation.GetTypeByMetadataName("System.Guid");
        DateTimeOffset = compilation.GetTypeByMetadataName("System.DateTimeOffset");
        JsonIgnoreAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonIgnoreAttribute");
        JsonPropertyNameAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonPropertyNameAttribute");
        JsonConverterAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonConverterAttribute");
        Batch = IReadOnlyListOfT.Construct(inferenceRequest);
    }

    public Compilation Compilation { get; }
    public INamedTypeSymbol InferenceRequest { get; }
    public INamedTypeSymbol HandlerContext { get; }
    public INamedTypeSymbol InferenceResult { get; }
    public INamedTypeSymbol? CancellationToken { get; }
    public INamedTypeSymbol? Task { get; }
    public INamedTypeSymbol? TaskOfT { get; }
    public INamedTypeSymbol? ValueTask { get; }
    public INamedTypeSymbol? ValueTaskOfT { get; }
    public INamedTypeSymbol? ReadOnlyMemory { get; }
    public INamedTypeSymbol? KeyValuePair { get; }
    public INamedTypeSymbol IEnumerableOfT { get; }
    public INamedTypeSymbol IReadOnlyListOfT { get; }
    public INamedTypeSymbol? Guid { get; }
    public INamedTypeSymbol? DateTimeOffset { get; }
    public INamedTypeSymbol? JsonIgnoreAttribute { get; }
    public INamedTypeSymbol? JsonPropertyNameAttribute { get; }
    public INamedTypeSymbol? JsonConverterAttribute { get; }

    /// <summary><c>IReadOnlyList&lt;InferenceRequest&gt;</c>: what preprocess receives.</summary>
    public INamedTypeSymbol Batch { get; }

    /// <summary>Null when the compilation does not reference Serve.Runtime: nothing to check or generate.</summary>
    public static KnownTypes? Create(Compilation compilation)
    {
        var request = compilation.GetTypeByMetadataName("Serve.Runtime.InferenceRequest");
        var context = compilation.GetTypeByMetadataName("Serve.Runtime.HandlerContext");
        var result = compilation.GetTypeByMetadataName("Serve.Runtime.InferenceResult");
        return request is null || context is null || result is null ? null : new KnownTypes(compilation, request, context, result);
    }

    public bool IsImplicitlyConvertible(ITypeSymbol from, ITypeSymbol to) =>
        Compilation.ClassifyCommonConversion(from, to) is { Exists: true, IsImplicit: true, IsUserDefined: false };
}
