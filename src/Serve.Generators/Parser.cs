using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>
/// Turns a [Handler] class into a <see cref="HandlerSpec"/>, checking every rule on the way.
/// The analyzer reports the diagnostics it collects; the generator only uses the spec, which is
/// null whenever there is an error.
/// </summary>
internal sealed class Parser
{
    /// <summary>Fully qualified, with nullable annotations, as generated code writes types.</summary>
    public static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>Short, as a user reads types in a message.</summary>
    public static readonly SymbolDisplayFormat MessageFormat = SymbolDisplayFormat.MinimallyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    private enum Stage
    {
        Initialize,
        Preprocess,
        Inference,
        Postprocess,
        Explain,
    }

    private sealed record ParsedStage(IMethodSymbol Method, StageSpec Spec, ITypeSymbol? Input, ITypeSymbol? Result);

    private readonly KnownTypes _known;
    private readonly List<Diagnostic> _diagnostics;
    private readonly CancellationToken _cancellationToken;

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
        attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;

    /// <summary>Where an attribute is written, for diagnostics.</summary>
    public static Location AttributeLocation(AttributeData attribute, ISymbol owner) =>
        attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation() ?? owner.Locations.FirstOrDefault() ?? Location.None;

    private HandlerSpec? Parse(INamedTypeSymbol type, AttributeData handlerAttribute)
    {
        var errors = _diagnostics.Count;
        var handlerName = HandlerName(handlerAttribute) ?? "";
        CheckClass(type, handlerAttribute, handlerName);

        var stages = FindStages(type, handlerName);
        _cancellationToken.ThrowIfCancellationRequested();
        stages.TryGetValue(Stage.Initialize, out var initialize);
        stages.TryGetValue(Stage.Preprocess, out var preprocess);
        stages.TryGetValue(Stage.Inference, out var inference);
        stages.TryGetValue(Stage.Postprocess, out var postprocess);
        stages.TryGetValue(Stage.Explain, out var explain);
        if (_diagnostics.Count > errors)
        {
            return null;
        }

        // Preprocess output: the batch itself without a preprocess; a list of results for a per-request one.
        var perRequest = preprocess is not null && SymbolEqualityComparer.Default.Equals(preprocess.Input, _known.InferenceRequest);
        ITypeSymbol preprocessOutput = preprocess is null
            ? _known.Batch
            : perRequest ? _known.IReadOnlyListOfT.Construct(preprocess.Result!) : preprocess.Result!;
        var preprocessName = preprocess is null ? "the batch (no [Preprocess] stage)" : $"[Preprocess] '{preprocess.Method.Name}'";

        // Inference output: the inference's result, or what postprocess takes when the model runs by default.
        ITypeSymbol inferenceOutput;
        if (inference is not null)
        {
            CheckFeeds(preprocessOutput, preprocessName, inference, "[Inference]");
            inferenceOutput = inference.Result!;
        }
        else if (postprocess is not null)
        {
            inferenceOutput = postprocess.Input!;
        }
        else
        {
            Report(DiagnosticDescriptors.NoDefaultStage, type.Locations.FirstOrDefault(),
                $"Handler '{type.Name}' declares neither [Inference] nor [Postprocess]: the default inference runs the loaded model, and only a [Postprocess] input type says what the model returns. Declare one of them.");
            return null;
        }

        // Postprocess output: one result per request.
        ResultSpec? result;
        var objects = new JsonTypeParser(_known);
        if (postprocess is not null)
        {
            var inferenceName = inference is null ? "the model (no [Inference] stage)" : $"[Inference] '{inference.Method.Name}'";
            if (inference is not null)
            {
                CheckFeeds(inferenceOutput, inferenceName, postprocess, "[Postprocess]");
            }
            result = ResultOf(postprocess.Result!, postprocess.Method, "[Postprocess]", handlerAttribute, objects);
        }
        else
        {
            result = ResultOf(inferenceOutput, inference!.Method, "[Inference] (with no [Postprocess] stage, its output is the response)", handlerAttribute, objects);
        }

        ResultSpec? explainResult = null;
        if (explain is not null)
        {
            CheckFeeds(preprocessOutput, preprocessName, explain, "[Explain]");
            explainResult = ResultOf(explain.Result!, explain.Method, "[Explain]", handlerAttribute, objects);
        }

        if (_diagnostics.Count > errors || result is null)
        {
            return null;
        }

        var ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        return new HandlerSpec(
            HandlerName: handlerName,
            Namespace: ns,
            ClassName: type.Name,
            FullyQualifiedName: type.ToDisplayString(TypeFormat),
            Initialize: initialize?.Spec,
            Preprocess: preprocess?.Spec,
            PreprocessPerRequest: perRequest,
            PreprocessOutputType: preprocessOutput.ToDisplayString(TypeFormat),
            Inference: inference?.Spec,
            InferenceOutputType: inferenceOutput.ToDisplayString(TypeFormat),
            Postprocess: postprocess?.Spec,
            Result: result,
            Explain: explain?.Spec,
            ExplainResult: explainResult,
            JsonObjects: objects.Objects.ToEquatableArray());
    }

    private void CheckClass(INamedTypeSymbol type, AttributeData handlerAttribute, string handlerName)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(_cancellationToken) is ClassDeclarationSyntax declaration
                && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                Report(DiagnosticDescriptors.HandlerNotPartial, declaration.Identifier.GetLocation(), type.Name);
                break;
            }
        }

        if (type.ContainingType is not null)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, type.Locations.FirstOrDefault(), type.Name, $"nested in '{type.ContainingType.Name}'");
        }
        if (type.IsGenericType)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, type.Locations.FirstOrDefault(), type.Name, "generic");
        }

        if (!IsValidHandlerName(handlerName))
        {
            Report(DiagnosticDescriptors.InvalidHandlerName, AttributeLocation(handlerAttribute, type), handlerName);
        }

        if (type.IsStatic || type.IsAbstract)
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, type.Locations.FirstOrDefault(), type.Name, type.IsStatic ? "is static" : "is abstract");
        }
        else if (!type.InstanceConstructors.Any(c => c.Parameters.Length == 0
                     && c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal))
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, type.Locations.FirstOrDefault(), type.Name, "has no public or internal parameterless constructor");
        }
    }

    private static bool IsValidHandlerName(string name) =>
        name.Length > 0 && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.');

    private Dictionary<Stage, ParsedStage> FindStages(INamedTypeSymbol type, string handlerName)
    {
        var stages = new Dictionary<Stage, ParsedStage>();
        foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var attribute in method.GetAttributes())
            {
                var stage = StageOf(attribute.AttributeClass);
                if (stage is null)
                {
                    continue;
                }
                if (stages.TryGetValue(stage.Value, out var existing))
                {
                    Report(DiagnosticDescriptors.DuplicateStage, method.Locations.FirstOrDefault(), handlerName, stage.Value, existing.Method.Name, method.Name);
                    continue;
                }
                var parsed = ParseStage(method, stage.Value);
                if (parsed is not null)
                {
                    stages[stage.Value] = parsed;
                }
            }
        }
        return stages;
    }

    /// <summary>The stage an attribute marks, or null for any other attribute.</summary>
    public static int? StageIndex(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null || attributeClass.ContainingNamespace is not { Name: "Serve", ContainingNamespace.IsGlobalNamespace: true })
        {
            return null;
        }
        var name = "Serve." + attributeClass.Name;
        var index = System.Array.IndexOf(KnownTypes.StageAttributes, name);
        return index < 0 ? null : index;
    }

    private static Stage? StageOf(INamedTypeSymbol? attributeClass) => StageIndex(attributeClass) is { } index ? (Stage)index : null;

    private ParsedStage? ParseStage(IMethodSymbol method, Stage stage)
    {
        var location = method.Locations.FirstOrDefault();
        if (method.IsGenericMethod)
        {
            return Bad(stage, method, "it is generic");
        }

        // Parameters: at most one input, one HandlerContext, one CancellationToken, in any order.
        var arguments = new List<StageArgument>();
        ITypeSymbol? input = null;
        foreach (var parameter in method.Parameters)
        {
            if (parameter.RefKind != RefKind.None || parameter.IsParams)
            {
                return Bad(stage, method, $"parameter '{parameter.Name}' is {(parameter.IsParams ? "params" : parameter.RefKind.ToString().ToLowerInvariant())}");
            }
            var kind = SymbolEqualityComparer.Default.Equals(parameter.Type, _known.HandlerContext) ? StageArgument.Context
                : SymbolEqualityComparer.Default.Equals(parameter.Type, _known.CancellationToken) ? StageArgument.CancellationToken
                : StageArgument.Input;
            if (arguments.Contains(kind))
            {
                return Bad(stage, method, kind == StageArgument.Input
                    ? $"it takes more than one input ('{input!.ToDisplayString(MessageFormat)}' and '{parameter.Type.ToDisplayString(MessageFormat)}')"
                    : $"it takes more than one {(kind == StageArgument.Context ? "HandlerContext" : "CancellationToken")}");
            }
            if (kind == StageArgument.Input)
            {
                input = parameter.Type;
            }
            arguments.Add(kind);
        }

        // Return: void/Task/ValueTask for initialize; T, Task<T> or ValueTask<T> for the others.
        var (awaitable, result) = Unwrap(method.ReturnType);
        if (stage == Stage.Initialize)
        {
            if (input is not null)
            {
                return Bad(stage, method, $"initialize takes no input, only an optional HandlerContext and CancellationToken, but it takes '{input.ToDisplayString(MessageFormat)}'");
            }
            if (result is not null)
            {
                return Bad(stage, method, $"initialize returns void, Task or ValueTask, not '{method.ReturnType.ToDisplayString(MessageFormat)}'");
            }
        }
        else
        {
            if (input is null)
            {
                return Bad(stage, method, stage == Stage.Preprocess
                    ? "it takes no input; take an InferenceRequest or an IReadOnlyList<InferenceRequest>"
                    : "it takes no input; take the previous stage's output");
            }
            if (result is null)
            {
                return Bad(stage, method, $"it returns nothing; return the {stage.ToString().ToLowerInvariant()} output as T, Task<T> or ValueTask<T>");
            }
            if (stage == Stage.Preprocess
                && !SymbolEqualityComparer.Default.Equals(input, _known.InferenceRequest)
                && !_known.IsImplicitlyConvertible(_known.Batch, input))
            {
                return Bad(stage, method, $"it takes '{input.ToDisplayString(MessageFormat)}'; preprocess takes an InferenceRequest or an IReadOnlyList<InferenceRequest>");
            }
        }

        var spec = new StageSpec(
            method.Name,
            method.IsStatic,
            awaitable,
            arguments.ToEquatableArray(),
            result?.ToDisplayString(TypeFormat));
        return new ParsedStage(method, spec, input, result);

        ParsedStage? Bad(Stage s, IMethodSymbol m, string reason)
        {
            Report(DiagnosticDescriptors.BadStageSignature, location, s, m.Name, reason);
            return null;
        }
    }

    /// <summary>(awaitable, result): void gives null; Task/ValueTask unwrap to their result.</summary>
    private (bool Awaitable, ITypeSymbol? Result) Unwrap(ITypeSymbol returnType)
    {
        if (returnType.SpecialType == SpecialType.System_Void)
        {
            return (false, null);
        }
        if (returnType is INamedTypeSymbol named)
        {
            if (SymbolEqualityComparer.Default.Equals(named, _known.Task) || SymbolEqualityComparer.Default.Equals(named, _known.ValueTask))
            {
                return (true, null);
            }
            if (named.IsGenericType
                && (SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.TaskOfT)
                    || SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.ValueTaskOfT)))
            {
                return (true, named.TypeArguments[0]);
            }
        }
        return (false, returnType);
    }

    private void CheckFeeds(ITypeSymbol output, string producer, ParsedStage consumer, string consumerName)
    {
        if (!_known.IsImplicitlyConvertible(output, consumer.Input!))
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, consumer.Method.Locations.FirstOrDefault(),
                $"{consumerName} '{consumer.Method.Name}' takes '{consumer.Input!.ToDisplayString(MessageFormat)}', but {producer} gives '{output.ToDisplayString(MessageFormat)}'");
        }
    }

    private ResultSpec? ResultOf(ITypeSymbol listType, IMethodSymbol method, string stageName, AttributeData handlerAttribute, JsonTypeParser objects)
    {
        var element = ListElement(listType);
        if (element is null)
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, method.Locations.FirstOrDefault(),
                $"{stageName} '{method.Name}' gives '{listType.ToDisplayString(MessageFormat)}', but the response needs one result per request: return an IReadOnlyList<T>, a List<T> or a T[]");
            return null;
        }

        var elementType = element.ToDisplayString(TypeFormat);
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

        var jsonContext = handlerAttribute.NamedArguments.FirstOrDefault(a => a.Key == "JsonContext").Value.Value as INamedTypeSymbol;
        if (jsonContext is not null)
        {
            return new ResultSpec(ResultKind.JsonTypeInfo, elementType, null, jsonContext.ToDisplayString(TypeFormat));
        }

        var json = objects.Describe(element, out var reason);
        if (json is null)
        {
            Report(DiagnosticDescriptors.UnserializableResult, method.Locations.FirstOrDefault(), element.ToDisplayString(MessageFormat), reason!);
            return null;
        }
        return new ResultSpec(ResultKind.Json, elementType, json, null);
    }

    private ITypeSymbol? ListElement(ITypeSymbol type)
    {
        if (IsReadOnlyList(type))
        {
            return ((INamedTypeSymbol)type).TypeArguments[0];
        }
        return type.AllInterfaces.FirstOrDefault(IsReadOnlyList)?.TypeArguments[0];

        bool IsReadOnlyList(ITypeSymbol candidate) =>
            candidate is INamedTypeSymbol { IsGenericType: true } named
            && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.IReadOnlyListOfT);
    }

    private void Report(DiagnosticDescriptor descriptor, Location? location, params object[] arguments) =>
        _diagnostics.Add(Diagnostic.Create(descriptor, location ?? Location.None, arguments));
}
