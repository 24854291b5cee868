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
internal sealed class Parser
{
    /// <summary>Fully qualified, keywords escaped, with nullable annotations, as generated code writes types.</summary>
    public static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>Short, as a user reads types in a message.</summary>
    public static readonly SymbolDisplayFormat MessageFormat = SymbolDisplayFormat.MinimallyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>TorchServe's model names (model-archiver's is_valid_model_name); "." and ".." are not names.</summary>
    private static readonly Regex HandlerNamePattern = new("^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

    private sealed record ParsedStage(IMethodSymbol Method, StageSpec Spec, ITypeSymbol? Input, ITypeSymbol? Result);

    private readonly KnownTypes _known;
    private readonly List<Diagnostic> _diagnostics;
    private readonly CancellationToken _cancellationToken;

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
        var handlerName = CheckHandlerName(type, handlerAttribute);
        if (type.DeclaringSyntaxReferences.FirstOrDefault()?.SyntaxTree.Options is CSharpParseOptions { LanguageVersion: var version }
            && version < LanguageVersion.CSharp9)
        {
            Report(DiagnosticDescriptors.LanguageVersionTooOld, AttributeLocation(handlerAttribute, type), version.ToDisplayString());
        }
        CheckClass(type);

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
        var preprocessName = preprocess is null ? "the batch (no [Preprocess] stage)" : $"[Preprocess] '{preprocess.Method.Name}'";

        // Inference output: the inference's result, or what postprocess takes when the model runs by default.
        ITypeSymbol inferenceOutput;
        if (inference is not null)
        {
            CheckFeeds(preprocessOutput, preprocessName, inference);
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
                CheckFeeds(inferenceOutput, $"[Inference] '{inference.Method.Name}'", postprocess);
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
            CheckFeeds(preprocessOutput, preprocessName, explain);
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

    private string? CheckHandlerName(INamedTypeSymbol type, AttributeData handlerAttribute)
    {
        if (handlerAttribute.ConstructorArguments.Length != 1 || handlerAttribute.ConstructorArguments[0].Kind == TypedConstantKind.Error)
        {
            _compilerError = true; // [Handler] without a usable argument does not compile.
            return null;
        }
        var name = HandlerName(handlerAttribute);
        if (name is null)
        {
            // With nullable warnings on, the compiler reports [Handler(null)] (CS8625); do not say it twice.
            if (!_known.Compilation.Options.NullableContextOptions.WarningsEnabled())
            {
                Report(DiagnosticDescriptors.InvalidHandlerName, AttributeLocation(handlerAttribute, type), "null");
            }
            _compilerError = true;
            return null;
        }
        if (!HandlerNamePattern.IsMatch(name))
        {
            Report(DiagnosticDescriptors.InvalidHandlerName, AttributeLocation(handlerAttribute, type), name);
        }
        return name;
    }

    private void CheckClass(INamedTypeSymbol type)
    {
        var location = type.Locations.FirstOrDefault();
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(_cancellationToken) is TypeDeclarationSyntax declaration
                && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                Report(DiagnosticDescriptors.HandlerNotPartial, declaration.Identifier.GetLocation(), type.Name);
                break;
            }
        }

        if (type.ContainingType is not null)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, $"nested in '{type.ContainingType.Name}'");
        }
        if (type.IsGenericType)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, "generic");
        }
        if (type.IsFileLocal)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, "file-local ('file'), as no other file can add to it or create it");
        }
        if (_known.IsObsoleteError(type))
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, "[Obsolete] as an error, as the generated registration names it");
        }
        if (ImplementsHandlerItself(type))
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, "an IHandler implemented by hand, as the generator writes that implementation");
        }

        if (type.IsStatic || type.IsAbstract)
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, location, type.Name, type.IsStatic ? "is static" : "is abstract");
            return;
        }

        // What 'new H()' binds to: a parameterless constructor, else one whose parameters are all optional.
        var callable = type.InstanceConstructors
            .Where(c => c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal
                && c.Parameters.All(p => p.IsOptional || p.IsParams))
            .ToArray();
        var constructor = callable.FirstOrDefault(c => c.Parameters.Length == 0) ?? (callable.Length == 1 ? callable[0] : null);
        if (callable.Length == 0)
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, location, type.Name, "has no public or internal constructor that takes no arguments");
        }
        else if (constructor is null)
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, location, type.Name, "has several constructors callable without arguments, so 'new' is ambiguous");
        }
        else if (_known.IsObsoleteError(constructor))
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, location, type.Name, "has a constructor marked [Obsolete] as an error");
        }
        else if (HasRequiredMembers(type)
            && !constructor.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, _known.SetsRequiredMembers)))
        {
            Report(DiagnosticDescriptors.HandlerNotCreatable, location, type.Name, "has required members, which 'new' cannot set; mark its constructor [SetsRequiredMembers] and set them there");
        }
    }

    private static bool HasRequiredMembers(INamedTypeSymbol type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (current.GetMembers().Any(m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true }))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when the user's own declaration lists IHandler (the generated part does too, so the symbol cannot tell).</summary>
    private bool ImplementsHandlerItself(INamedTypeSymbol type)
    {
        if (_known.IHandler is null || !type.Interfaces.Contains(_known.IHandler, SymbolEqualityComparer.Default)
            || type.Interfaces.Any(i => i.Name == "IHandler" && !SymbolEqualityComparer.Default.Equals(i, _known.IHandler)))
        {
            return false; // Not ours, or an IHandler of the user's own that the name in the base list may mean.
        }
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (!reference.SyntaxTree.FilePath.EndsWith(".Serve.g.cs", System.StringComparison.Ordinal)
                && reference.GetSyntax(_cancellationToken) is TypeDeclarationSyntax { BaseList: { } baseList }
                && baseList.Types.Any(t => t.Type.ToString().Split('.', ':').Last() == "IHandler"))
            {
                return true;
            }
        }
        return false;
    }

    private Dictionary<Stage, ParsedStage> FindStages(INamedTypeSymbol type, string handlerName)
    {
        var stages = new Dictionary<Stage, ParsedStage>();
        foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var attribute in method.GetAttributes())
            {
                if (Stages.Of(attribute.AttributeClass) is not { } stage)
                {
                    continue;
                }
                if (stages.TryGetValue(stage, out var existing))
                {
                    Report(DiagnosticDescriptors.DuplicateStage, method.Locations.FirstOrDefault(), handlerName, stage, existing.Method.Name, method.Name);
                    continue;
                }
                if (ParseStage(type, method, stage) is { } parsed)
                {
                    stages[stage] = parsed;
                }
            }
        }

        // Stages on a base class are not called yet (inheritance is the built-in handlers' work): say so plainly.
        for (var baseType = type.BaseType; baseType is not null && baseType.SpecialType != SpecialType.System_Object; baseType = baseType.BaseType)
        {
            foreach (var method in baseType.GetMembers().OfType<IMethodSymbol>())
            {
                if (method.GetAttributes().Select(a => Stages.Of(a.AttributeClass)).FirstOrDefault(s => s is not null) is { } inherited)
                {
                    Report(DiagnosticDescriptors.InheritedStage, type.Locations.FirstOrDefault(), type.Name, inherited, method.Name, baseType.Name);
                    return stages;
                }
            }
        }
        return stages;
    }

    private ParsedStage? ParseStage(INamedTypeSymbol type, IMethodSymbol method, Stage stage)
    {
        if (method.MethodKind is not (MethodKind.Ordinary or MethodKind.ExplicitInterfaceImplementation))
        {
            return Bad(method.MethodKind switch
            {
                MethodKind.PropertyGet or MethodKind.PropertySet => "it is a property accessor; mark an ordinary method",
                MethodKind.EventAdd or MethodKind.EventRemove or MethodKind.EventRaise => "it is an event accessor; mark an ordinary method",
                MethodKind.UserDefinedOperator or MethodKind.Conversion => "it is an operator; mark an ordinary method",
                MethodKind.Destructor => "it is a finalizer; mark an ordinary method",
                _ => "it is not an ordinary method",
            });
        }
        if (method.IsGenericMethod)
        {
            return Bad("it is generic");
        }
        if (_known.IsObsoleteError(method))
        {
            return Bad("it is marked [Obsolete] as an error, so the generated call to it cannot compile");
        }
        if (method.IsPartialDefinition && method.PartialImplementationPart is null)
        {
            return Bad("it is a partial method without a body, so the compiler removes every call to it; give it a body or remove the attribute");
        }
        if (method.IsAsync && method.ReturnsVoid)
        {
            return Bad("it is 'async void', so the pipeline cannot await it or catch its errors; return Task instead");
        }
        var receiver = method.IsStatic ? Name(type) : "this";
        var methodName = method.Name;
        if (method.MethodKind == MethodKind.ExplicitInterfaceImplementation)
        {
            var implemented = method.ExplicitInterfaceImplementations.FirstOrDefault();
            if (method.IsStatic || implemented is null)
            {
                return Bad("it is a static explicit interface implementation, which generated code cannot call");
            }
            receiver = $"(({Name(implemented.ContainingType)})this)";
            methodName = implemented.Name;
        }

        // Parameters: at most one input, one HandlerContext, one CancellationToken, in any order.
        var parameters = new List<StageParameter>();
        ITypeSymbol? input = null;
        foreach (var parameter in method.Parameters)
        {
            if (parameter.RefKind != RefKind.None || parameter.IsParams)
            {
                return Bad($"parameter '{parameter.Name}' is {(parameter.IsParams ? "params" : RefKindText(parameter.RefKind))}; stage parameters are passed by value");
            }
            if (Unusable(parameter.Type) is { } problem)
            {
                return Bad($"parameter '{parameter.Name}' is {problem}");
            }
            var kind = SymbolEqualityComparer.Default.Equals(parameter.Type, _known.HandlerContext) ? StageArgument.Context
                : SymbolEqualityComparer.Default.Equals(parameter.Type, _known.CancellationToken) ? StageArgument.CancellationToken
                : StageArgument.Input;
            if (parameters.Any(p => p.Kind == kind))
            {
                return Bad(kind == StageArgument.Input
                    ? $"it takes more than one input ('{input!.ToDisplayString(MessageFormat)}' and '{parameter.Type.ToDisplayString(MessageFormat)}')"
                    : $"it takes more than one {(kind == StageArgument.Context ? "HandlerContext" : "CancellationToken")}");
            }
            if (kind == StageArgument.Input)
            {
                input = parameter.Type;
            }
            parameters.Add(new StageParameter(kind, Name(parameter.Type)));
        }
        if (_compilerError)
        {
            return null;
        }

        // Return: void/Task/ValueTask for initialize; T, Task<T> or ValueTask<T> for the others.
        if (method.ReturnType.IsReferenceType && method.ReturnType.NullableAnnotation == NullableAnnotation.Annotated && IsTask(method.ReturnType))
        {
            return Bad($"it returns a nullable '{method.ReturnType.ToDisplayString(MessageFormat)}', which cannot be awaited safely; return a task that is never null");
        }
        var (awaitable, result) = Unwrap(method.ReturnType);
        if (result is not null && Unusable(result) is { } resultProblem)
        {
            return Bad($"it returns {resultProblem}");
        }
        if (_compilerError)
        {
            return null;
        }
        if (stage == Stage.Initialize)
        {
            if (input is not null)
            {
                return Bad($"initialize takes no input, only an optional HandlerContext and CancellationToken, but it takes '{input.ToDisplayString(MessageFormat)}'");
            }
            if (result is not null)
            {
                return Bad($"initialize returns void, Task or ValueTask, not '{method.ReturnType.ToDisplayString(MessageFormat)}'");
            }
        }
        else
        {
            if (input is null)
            {
                return Bad(stage == Stage.Preprocess
                    ? "it takes no input; take an InferenceRequest or an IReadOnlyList<InferenceRequest>"
                    : "it takes no input; take the previous stage's output");
            }
            if (result is null)
            {
                return Bad($"it returns nothing; return the {stage.ToString().ToLowerInvariant()} output as T, Task<T> or ValueTask<T>");
            }
            if (stage == Stage.Preprocess
                && !SymbolEqualityComparer.Default.Equals(input, _known.InferenceRequest)
                && !(_known.IsImplicitlyConvertible(_known.Batch, input) && NullableFits(_known.Batch, input)))
            {
                return Bad($"it takes '{input.ToDisplayString(MessageFormat)}'; preprocess takes an InferenceRequest or an IReadOnlyList<InferenceRequest>");
            }
        }

        var overloaded = OtherMethodsNamed(method);
        var spec = new StageSpec(
            stage,
            receiver,
            Identifier(methodName),
            awaitable,
            parameters.ToEquatableArray(),
            overloaded,
            result is null ? null : Name(result));
        return new ParsedStage(method, spec, input, result);

        ParsedStage? Bad(string reason)
        {
            Report(DiagnosticDescriptors.BadStageSignature, method.Locations.FirstOrDefault(), stage, method.Name, reason);
            return null;
        }
    }

    /// <summary>True when another method the call could bind to has the same name, here or in a base class or the implemented interface.</summary>
    private static bool OtherMethodsNamed(IMethodSymbol method)
    {
        var owner = method.MethodKind == MethodKind.ExplicitInterfaceImplementation
            ? method.ExplicitInterfaceImplementations[0].ContainingType
            : method.ContainingType;
        var name = method.MethodKind == MethodKind.ExplicitInterfaceImplementation ? method.ExplicitInterfaceImplementations[0].Name : method.Name;
        var target = method.MethodKind == MethodKind.ExplicitInterfaceImplementation ? method.ExplicitInterfaceImplementations[0] : method;
        var types = new List<ITypeSymbol>();
        for (ITypeSymbol? current = owner; current is not null; current = current.BaseType)
        {
            types.Add(current);
        }
        types.AddRange(owner.AllInterfaces);
        return types.SelectMany(t => t.GetMembers(name)).Any(m => !SymbolEqualityComparer.Default.Equals(m, target));
    }

    private static string RefKindText(RefKind kind) => kind switch
    {
        RefKind.Ref => "'ref'",
        RefKind.Out => "'out'",
        RefKind.In => "'in'",
        _ => "'ref readonly'",
    };

    /// <summary>Why generated async code cannot hold a value of this type, or null when it can.</summary>
    private string? Unusable(ITypeSymbol type)
    {
        switch (type)
        {
            case { TypeKind: TypeKind.Error }:
                _compilerError = true; // The compiler reports the unknown type.
                return null;
            case { IsRefLikeType: true }:
                return $"a ref struct ('{type.ToDisplayString(MessageFormat)}'), which an async pipeline cannot hold; use an array or Memory<T>";
            case { TypeKind: TypeKind.Pointer or TypeKind.FunctionPointer }:
                return $"a pointer ('{type.ToDisplayString(MessageFormat)}'); use an array or Memory<T>";
            case { TypeKind: TypeKind.Dynamic }:
                return "'dynamic', which needs reflection at run time; use a concrete type";
            case IArrayTypeSymbol array:
                return Unusable(array.ElementType);
            case INamedTypeSymbol { IsGenericType: true } named:
                return named.TypeArguments.Select(Unusable).FirstOrDefault(p => p is not null);
            default:
                if (_known.IsObsoleteError(type))
                {
                    return $"'{type.ToDisplayString(MessageFormat)}', which is marked [Obsolete] as an error";
                }
                return null;
        }
    }

    private bool IsTask(ITypeSymbol type) =>
        type is INamedTypeSymbol named
        && (SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.Task)
            || SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, _known.TaskOfT));

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

    private void CheckFeeds(ITypeSymbol output, string producer, ParsedStage consumer)
    {
        var consumerName = $"[{consumer.Spec.Stage}] '{consumer.Method.Name}'";
        if (!_known.IsImplicitlyConvertible(output, consumer.Input!))
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, consumer.Method.Locations.FirstOrDefault(),
                consumerName, Quoted(consumer.Input!), producer, Quoted(output), "");
        }
        else if (!NullableFits(output, consumer.Input!))
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, consumer.Method.Locations.FirstOrDefault(),
                consumerName, Quoted(consumer.Input!), producer, Quoted(output),
                ", which may hold null where no null is taken; make the two types' nullability agree");
        }
    }

    /// <summary>
    /// True when a value of <paramref name="from"/> passes to <paramref name="to"/> without a nullability
    /// warning: no annotated (?) reference where an unannotated one is taken, at the top or inside type
    /// arguments (following each type parameter's variance) and array elements. Oblivious types fit anything.
    /// </summary>
    internal static bool NullableFits(ITypeSymbol from, ITypeSymbol to)
    {
        if (from.NullableAnnotation == NullableAnnotation.Annotated && to.NullableAnnotation == NullableAnnotation.NotAnnotated
            && !from.IsValueType && !to.IsValueType)
        {
            return false;
        }
        if (from is IArrayTypeSymbol fromArray)
        {
            return to switch
            {
                IArrayTypeSymbol toArray => NullableFits(fromArray.ElementType, toArray.ElementType),
                INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } toCollection =>
                    Fits(fromArray.ElementType, toCollection.TypeArguments[0], toCollection.OriginalDefinition.TypeParameters[0].Variance),
                _ => true,
            };
        }
        if (to is not INamedTypeSymbol { IsGenericType: true } target)
        {
            return true;
        }
        var source = SelfBasesAndInterfaces(from).FirstOrDefault(t => SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, target.OriginalDefinition));
        if (source is null)
        {
            return true;
        }
        var parameters = target.OriginalDefinition.TypeParameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (!Fits(source.TypeArguments[i], target.TypeArguments[i], parameters[i].Variance))
            {
                return false;
            }
        }
        return true;

        static bool Fits(ITypeSymbol source, ITypeSymbol target, VarianceKind variance) => variance switch
        {
            VarianceKind.Out => NullableFits(source, target),
            VarianceKind.In => NullableFits(target, source),
            _ => NullableFits(source, target) && NullableFits(target, source),
        };
    }

    private static IEnumerable<INamedTypeSymbol> SelfBasesAndInterfaces(ITypeSymbol type)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            yield return current;
        }
        foreach (var implemented in type.AllInterfaces)
        {
            yield return implemented;
        }
    }

    private ResultSpec? ResultOf(ITypeSymbol listType, IMethodSymbol method, string stageName, AttributeData handlerAttribute, JsonTypeParser objects)
    {
        var element = ListElement(listType);
        if (element is null)
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, method.Locations.FirstOrDefault(),
                "The response", "a list with one result per request (IReadOnlyList<T>, List<T> or T[])",
                $"{stageName} '{method.Name}'", Quoted(listType), "");
            return null;
        }

        if (listType.IsReferenceType && listType.NullableAnnotation == NullableAnnotation.Annotated)
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, method.Locations.FirstOrDefault(),
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
            Report(DiagnosticDescriptors.UnserializableResult, JsonContextLocation(handlerAttribute) ?? method.Locations.FirstOrDefault(),
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
                Report(DiagnosticDescriptors.UnserializableResult, JsonContextLocation(handlerAttribute) ?? method.Locations.FirstOrDefault(),
                    element.ToDisplayString(MessageFormat),
                    $"JsonContext '{jsonContext.ToDisplayString(MessageFormat)}' is not a JsonSerializerContext with a static Default instance (declare 'partial class {jsonContext.Name} : JsonSerializerContext' with [JsonSerializable(typeof({element.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(MessageFormat)}))])");
                return null;
            }
            return new ResultSpec(ResultKind.JsonTypeInfo, elementType, null, Name(jsonContext));
        }

        var json = objects.Describe(element, out var reason);
        if (json is null)
        {
            Report(DiagnosticDescriptors.UnserializableResult, method.Locations.FirstOrDefault(), element.ToDisplayString(MessageFormat), reason!);
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
