using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>
/// Turns a [Handler] class into a <see cref="HandlerSpec"/>, checking every rule on the way.
/// The analyzer reports the diagnostics it collects; the generator only uses the spec, which is
/// null whenever there is an error, including errors the compiler itself reports.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>Fully qualified, keywords escaped, with nullable annotations, as generated code writes types.</summary>
    public static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>Short, as a user reads types in a message.</summary>
    public static readonly SymbolDisplayFormat MessageFormat = SymbolDisplayFormat.MinimallyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>TorchServe's model names (model-archiver's is_valid_model_name); "." and ".." are not names. <c>\z</c>, not <c>$</c>, which also matches before a final newline.</summary>
    private static readonly Regex HandlerNamePattern = new(@"^[A-Za-z0-9][A-Za-z0-9_.-]*\z", RegexOptions.CultureInvariant);

    private sealed record ParsedStage(IMethodSymbol Method, StageSpec Spec, ITypeSymbol? Input, ITypeSymbol? Result);

    private readonly KnownTypes _known;
    private readonly List<Diagnostic> _diagnostics;
    private readonly CancellationToken _cancellationToken;
    private INamedTypeSymbol _handler = null!;

    /// <summary>The handler's syntax tree's model, where generated calls are bound as the compiler will bind them.</summary>
    private SemanticModel? _semanticModel;

    /// <summary>Set when the compiler reports the problem itself (an unknown type, a malformed attribute): no code, no diagnostic of ours.</summary>
    private bool _compilerError;

    private Parser(KnownTypes known, List<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        _known = known;
        _diagnostics = diagnostics;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Parses a handler class; returns null and adds to <paramref name="diagnostics"/> when it is wrong.</summary>
    public static HandlerSpec? Parse(INamedTypeSymbol type, AttributeData handlerAttribute, KnownTypes known, List<Diagnostic> diagnostics, CancellationToken cancellationToken) =>
        new Parser(known, diagnostics, cancellationToken).Parse(type, handlerAttribute);

    /// <summary>The handler name an attribute declares, or null when it has none.</summary>
    public static string? HandlerName(AttributeData attribute) =>
        attribute.ConstructorArguments.Length == 1 && attribute.ConstructorArguments[0].Kind != TypedConstantKind.Error
            ? attribute.ConstructorArguments[0].Value as string
            : null;

    /// <summary>Where an attribute is written, for diagnostics.</summary>
    public static Location AttributeLocation(AttributeData attribute, ISymbol owner) =>
        attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation() ?? owner.Locations.FirstOrDefault() ?? Location.None;

    /// <summary>An identifier as C# source writes it: keywords get an '@'.</summary>
    public static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    private HandlerSpec? Parse(INamedTypeSymbol type, AttributeData handlerAttribute)
    {
        // A [Handler] on a struct, interface... is the compiler's error (CS0592), not ours.
        if (type.TypeKind != TypeKind.Class)
        {
            return null;
        }
        var errors = _diagnostics.Count;
        _handler = type;
        var handlerName = CheckHandlerName(type, handlerAttribute);
        if (type.DeclaringSyntaxReferences.FirstOrDefault()?.SyntaxTree.Options is CSharpParseOptions { LanguageVersion: var version }
            && version < LanguageVersion.CSharp9)
        {
            Report(DiagnosticDescriptors.LanguageVersionTooOld, AttributeLocation(handlerAttribute, type), version.ToDisplayString());
        }
        CheckClass(type);
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            _compilerError |= current.TypeKind == TypeKind.Error; // An unknown base class: its stages are unknown too (CS0246 says why).
        }

        var stages = FindStages(type, handlerName ?? type.Name);
        _cancellationToken.ThrowIfCancellationRequested();
        if (_diagnostics.Count > errors || _compilerError || handlerName is null)
        {
            return null;
        }
        stages.TryGetValue(Stage.Initialize, out var initialize);
        stages.TryGetValue(Stage.Preprocess, out var preprocess);
        stages.TryGetValue(Stage.Inference, out var inference);
        stages.TryGetValue(Stage.Postprocess, out var postprocess);
        stages.TryGetValue(Stage.Explain, out var explain);

        // Preprocess output: the batch itself without a preprocess; a list of results for a per-request one.
        var perRequest = preprocess is not null && SymbolEqualityComparer.Default.Equals(preprocess.Input, _known.InferenceRequest);
        ITypeSymbol preprocessOutput = preprocess is null
            ? _known.Batch
            : perRequest ? ListOf(preprocess.Result!) : preprocess.Result!;
        var preprocessName = preprocess is null ? "the batch (no [Preprocess] stage)" : $"[Preprocess] '{NameOf(preprocess)}'";

        // Inference output: the inference's result, or what postprocess takes when the model runs by default.
        ITypeSymbol inferenceOutput;
        if (inference is not null)
        {
            CheckFeeds(preprocessOutput, preprocessName, preprocess, inference);
            inferenceOutput = inference.Result!;
        }
        else if (postprocess is not null)
        {
            inferenceOutput = postprocess.Input!;
        }
        else
        {
            Report(DiagnosticDescriptors.NoDefaultStage, type.Locations.FirstOrDefault(), type.Name);
            return null;
        }

        // Postprocess output: one result per request.
        ResultSpec? result;
        var objects = new JsonTypeParser(_known);
        if (postprocess is not null)
        {
            if (inference is not null)
            {
                CheckFeeds(inferenceOutput, $"[Inference] '{NameOf(inference)}'", inference, postprocess);
            }
            result = ResultOf(postprocess.Result!, postprocess.Method, "[Postprocess]", handlerAttribute, objects);
        }
        else
        {
            result = ResultOf(inferenceOutput, inference!.Method, "[Inference]", handlerAttribute, objects);
        }

        ResultSpec? explainResult = null;
        if (explain is not null)
        {
            CheckFeeds(preprocessOutput, preprocessName, preprocess, explain);
            explainResult = ResultOf(explain.Result!, explain.Method, "[Explain]", handlerAttribute, objects);
        }

        if (_diagnostics.Count > errors || _compilerError || result is null)
        {
            return null;
        }

        var namespaces = new List<string>();
        for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            namespaces.Insert(0, ns.Name);
        }
        return new HandlerSpec(
            HandlerName: handlerName,
            Namespace: namespaces.Count == 0 ? null : string.Join(".", namespaces.Select(Identifier)),
            ClassName: Identifier(type.Name),
            IsRecord: type.IsRecord,
            MetadataName: string.Join(".", namespaces.Concat(new[] { type.MetadataName })),
            FullyQualifiedName: Name(type),
            InheritsHandler: InheritsHandler(type),
            HidesOpenApiResponse: InheritsMemberNamed(type, OpenApiEmitter.ResponseName),
            HidesOpenApiSchemas: InheritsMemberNamed(type, OpenApiEmitter.SchemasName),
            Initialize: initialize?.Spec,
            Preprocess: preprocess?.Spec,
            PreprocessPerRequest: perRequest,
            PreprocessOutputType: Name(preprocessOutput),
            Inference: inference?.Spec,
            InferenceOutputType: Name(inferenceOutput),
            Postprocess: postprocess?.Spec,
            Result: result,
            Explain: explain?.Spec,
            ExplainResult: explainResult,
            JsonObjects: objects.Objects.ToEquatableArray());
    }

    private ResultSpec? ResultOf(ITypeSymbol listType, IMethodSymbol method, string stageName, AttributeData handlerAttribute, JsonTypeParser objects)
    {
        var element = ListElement(listType);
        if (element is null)
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, LocationOf(method),
                "The response", "a list with one result per request (IReadOnlyList<T>, List<T> or T[])",
                $"{stageName} '{method.Name}'", Quoted(listType), "");
            return null;
        }

        if (listType.IsReferenceType && listType.NullableAnnotation == NullableAnnotation.Annotated)
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, LocationOf(method),
                "The response", "a list with one result per request",
                $"{stageName} '{method.Name}'", Quoted(listType), ", which may be null; return a list that is never null");
            return null;
        }

        var elementType = Name(element);
        if (element.SpecialType == SpecialType.System_String)
        {
            return new ResultSpec(ResultKind.Text, elementType, null, null);
        }
        if (element is IArrayTypeSymbol { ElementType.SpecialType: SpecialType.System_Byte, Rank: 1 }
            || (element is INamedTypeSymbol { IsGenericType: true } memory
                && SymbolEqualityComparer.Default.Equals(memory.OriginalDefinition, _known.ReadOnlyMemory)
                && memory.TypeArguments[0].SpecialType == SpecialType.System_Byte))
        {
            return new ResultSpec(ResultKind.Bytes, elementType, null, null);
        }
        if (SymbolEqualityComparer.Default.Equals(element, _known.InferenceResult))
        {
            return new ResultSpec(ResultKind.Results, elementType, null, null);
        }

        var jsonContextArgument = handlerAttribute.NamedArguments.FirstOrDefault(a => a.Key == "JsonContext").Value;
        if (handlerAttribute.NamedArguments.Any(a => a.Key == "JsonContext") && jsonContextArgument.Kind == TypedConstantKind.Error)
        {
            _compilerError = true;
            return null;
        }
        if (jsonContextArgument.Value is ITypeSymbol and not INamedTypeSymbol)
        {
            Report(DiagnosticDescriptors.UnserializableResult, JsonContextLocation(handlerAttribute) ?? LocationOf(method),
                element.ToDisplayString(MessageFormat), $"JsonContext '{((ITypeSymbol)jsonContextArgument.Value).ToDisplayString(MessageFormat)}' is not a JsonSerializerContext");
            return null;
        }
        if (jsonContextArgument.Value is INamedTypeSymbol jsonContext)
        {
            if (jsonContext.TypeKind == TypeKind.Error)
            {
                _compilerError = true;
                return null;
            }
            if (!IsUsableJsonContext(jsonContext))
            {
                Report(DiagnosticDescriptors.UnserializableResult, JsonContextLocation(handlerAttribute) ?? LocationOf(method),
                    element.ToDisplayString(MessageFormat),
                    $"JsonContext '{jsonContext.ToDisplayString(MessageFormat)}' is not a JsonSerializerContext with a static Default instance (declare 'partial class {jsonContext.Name} : JsonSerializerContext' with [JsonSerializable(typeof({element.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(MessageFormat)}))])");
                return null;
            }
            return new ResultSpec(ResultKind.JsonTypeInfo, elementType, null, Name(jsonContext));
        }

        var json = objects.Describe(element, out var reason);
        if (objects.CompilerError)
        {
            _compilerError = true;
            return null;
        }
        if (json is null)
        {
            Report(DiagnosticDescriptors.UnserializableResult, LocationOf(method), element.ToDisplayString(MessageFormat), reason!);
            return null;
        }
        return new ResultSpec(ResultKind.Json, elementType, json, null);
    }

    private bool IsUsableJsonContext(INamedTypeSymbol type)
    {
        var isContext = false;
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            isContext |= SymbolEqualityComparer.Default.Equals(current, _known.JsonSerializerContext);
        }
        // System.Text.Json's generator writes Default for a context with [JsonSerializable]; this
        // generator cannot see that output, so the attribute stands for it.
        return isContext && !type.IsAbstract && !type.IsGenericType
            && (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "System.Text.Json.Serialization.JsonSerializableAttribute")
                || type.GetMembers("Default").OfType<IPropertySymbol>().Any(p => p.IsStatic
                && p.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal
                && p.GetMethod is not null
                && _known.IsImplicitlyConvertible(p.Type, _known.JsonSerializerContext!)));
    }

    private static Location? JsonContextLocation(AttributeData attribute) =>
        (attribute.ApplicationSyntaxReference?.GetSyntax() as AttributeSyntax)?.ArgumentList?.Arguments
            .FirstOrDefault(a => a.NameEquals?.Name.Identifier.Text == "JsonContext")?.GetLocation();

    private ITypeSymbol? ListElement(ITypeSymbol type)
    {
        if (IsReadOnlyList(type))
        {
            return ((INamedTypeSymbol)type).TypeArguments[0];
        }
        if (type is IArrayTypeSymbol { Rank: 1 } array)
        {
            return array.ElementType;
        }
        return type.AllInterfaces.FirstOrDefault(IsReadOnlyList)?.TypeArguments[0];

        bool IsReadOnlyList(ITypeSymbol candidate) =>
            candidate is INamedTypeSymbol { IsGenericType: true } named
            && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.IReadOnlyListOfT);
    }

    /// <summary><c>IReadOnlyList&lt;T&gt;</c>, keeping T's nullable annotation.</summary>
    private INamedTypeSymbol ListOf(ITypeSymbol element) =>
        _known.IReadOnlyListOfT.Construct(ImmutableArray.Create(element), ImmutableArray.Create(element.NullableAnnotation));

    private static string Name(ITypeSymbol type) => type.ToDisplayString(TypeFormat);

    private static string Quoted(ITypeSymbol type) => $"'{type.ToDisplayString(MessageFormat)}'";

    private void Report(DiagnosticDescriptor descriptor, Location? location, params object[] arguments) =>
        _diagnostics.Add(Diagnostic.Create(descriptor, location ?? Location.None, arguments));
}
