using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>The types the parser compares against, resolved once per compilation.</summary>
internal sealed class KnownTypes
{
    public const string HandlerAttributeName = "Serve.HandlerAttribute";

    private KnownTypes(Compilation compilation, INamedTypeSymbol handlerAttribute, INamedTypeSymbol inferenceRequest, INamedTypeSymbol handlerContext, INamedTypeSymbol inferenceResult)
    {
        Compilation = compilation;
        HandlerAttribute = handlerAttribute;
        InferenceRequest = inferenceRequest;
        HandlerContext = handlerContext;
        InferenceResult = inferenceResult;
        IHandler = compilation.GetTypeByMetadataName("Serve.Runtime.IHandler");
        CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
        Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
        TaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task`1");
        ValueTask = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask");
        ValueTaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask`1");
        ReadOnlyMemory = compilation.GetTypeByMetadataName("System.ReadOnlyMemory`1");
        IEnumerableOfT = compilation.GetSpecialType(SpecialType.System_Collections_Generic_IEnumerable_T);
        IEnumerable = compilation.GetSpecialType(SpecialType.System_Collections_IEnumerable);
        IReadOnlyListOfT = compilation.GetSpecialType(SpecialType.System_Collections_Generic_IReadOnlyList_T);
        IDictionaryOfT = compilation.GetTypeByMetadataName("System.Collections.Generic.IDictionary`2");
        IReadOnlyDictionaryOfT = compilation.GetTypeByMetadataName("System.Collections.Generic.IReadOnlyDictionary`2");
        IDictionary = compilation.GetTypeByMetadataName("System.Collections.IDictionary");
        Guid = compilation.GetTypeByMetadataName("System.Guid");
        DateTimeOffset = compilation.GetTypeByMetadataName("System.DateTimeOffset");
        Obsolete = compilation.GetTypeByMetadataName("System.ObsoleteAttribute");
        SetsRequiredMembers = compilation.GetTypeByMetadataName("System.Diagnostics.CodeAnalysis.SetsRequiredMembersAttribute");
        JsonSerializerContext = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonSerializerContext");
        JsonIgnoreAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonIgnoreAttribute");
        JsonPropertyNameAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonPropertyNameAttribute");
        JsonRequiredAttribute = compilation.GetTypeByMetadataName("System.Text.Json.Serialization.JsonRequiredAttribute");
        Batch = IReadOnlyListOfT.Construct(inferenceRequest);
    }

    public Compilation Compilation { get; }
    public INamedTypeSymbol HandlerAttribute { get; }
    public INamedTypeSymbol InferenceRequest { get; }
    public INamedTypeSymbol HandlerContext { get; }
    public INamedTypeSymbol InferenceResult { get; }
    public INamedTypeSymbol? IHandler { get; }
    public INamedTypeSymbol? CancellationToken { get; }
    public INamedTypeSymbol? Task { get; }
    public INamedTypeSymbol? TaskOfT { get; }
    public INamedTypeSymbol? ValueTask { get; }
    public INamedTypeSymbol? ValueTaskOfT { get; }
    public INamedTypeSymbol? ReadOnlyMemory { get; }
    public INamedTypeSymbol IEnumerableOfT { get; }
    public INamedTypeSymbol IEnumerable { get; }
    public INamedTypeSymbol IReadOnlyListOfT { get; }
    public INamedTypeSymbol? IDictionaryOfT { get; }
    public INamedTypeSymbol? IReadOnlyDictionaryOfT { get; }
    public INamedTypeSymbol? IDictionary { get; }
    public INamedTypeSymbol? Guid { get; }
    public INamedTypeSymbol? DateTimeOffset { get; }
    public INamedTypeSymbol? Obsolete { get; }
    public INamedTypeSymbol? SetsRequiredMembers { get; }
    public INamedTypeSymbol? JsonSerializerContext { get; }
    public INamedTypeSymbol? JsonIgnoreAttribute { get; }
    public INamedTypeSymbol? JsonPropertyNameAttribute { get; }
    public INamedTypeSymbol? JsonRequiredAttribute { get; }

    /// <summary><c>IReadOnlyList&lt;InferenceRequest&gt;</c>: what preprocess receives.</summary>
    public INamedTypeSymbol Batch { get; }

    /// <summary>Null when the compilation does not reference Serve.Runtime: nothing to check or generate.</summary>
    public static KnownTypes? Create(Compilation compilation)
    {
        var attribute = compilation.GetTypeByMetadataName(HandlerAttributeName);
        var request = compilation.GetTypeByMetadataName("Serve.Runtime.InferenceRequest");
        var context = compilation.GetTypeByMetadataName("Serve.Runtime.HandlerContext");
        var result = compilation.GetTypeByMetadataName("Serve.Runtime.InferenceResult");
        return attribute is null || request is null || context is null || result is null
            ? null
            : new KnownTypes(compilation, attribute, request, context, result);
    }

    /// <summary>An implicit conversion the generated code can rely on: no user-defined operator (stage types that hold dynamic are refused earlier).</summary>
    public bool IsImplicitlyConvertible(ITypeSymbol from, ITypeSymbol to) =>
        Compilation.ClassifyCommonConversion(from, to) is { Exists: true, IsImplicit: true, IsUserDefined: false };

    /// <summary>True when the symbol is <c>[Obsolete(..., error: true)]</c>: code that names it does not compile.</summary>
    public bool IsObsoleteError(ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, Obsolete)
                && attribute.ConstructorArguments.Length == 2 && attribute.ConstructorArguments[1].Value is true)
            {
                return true;
            }
        }
        return false;
    }
}
