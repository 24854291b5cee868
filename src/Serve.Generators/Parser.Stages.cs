using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>Finding the stage methods, checking their signatures, and checking that each feeds the next.</summary>
internal sealed partial class Parser
{
    /// <summary>
    /// The stages of the handler and its base classes: each from the nearest class up the chain
    /// that marks a method with its attribute, so a derived class's stage replaces its base's
    /// (an override, or a <c>new</c> method with the attribute). A base's virtual stage that the
    /// handler overrides without the attribute stays the stage, and the call dispatches to the override.
    /// </summary>
    private Dictionary<Stage, ParsedStage> FindStages(INamedTypeSymbol type, string handlerName)
    {
        var stages = new Dictionary<Stage, ParsedStage>();
        for (var current = type; current is { SpecialType: not SpecialType.System_Object }; current = current.BaseType)
        {
            var declaredHere = new Dictionary<Stage, IMethodSymbol>();
            foreach (var method in current.GetMembers().OfType<IMethodSymbol>())
            {
                foreach (var attribute in method.GetAttributes())
                {
                    if (Stages.Of(attribute.AttributeClass) is not { } stage)
                    {
                        continue;
                    }
                    if (declaredHere.TryGetValue(stage, out var existing))
                    {
                        Report(DiagnosticDescriptors.DuplicateStage, LocationOf(method), handlerName, stage, existing.Name, method.Name);
                        continue;
                    }
                    declaredHere[stage] = method;
                    if (stages.ContainsKey(stage))
                    {
                        continue; // replaced by a class nearer the handler
                    }
                    var parsed = ParseStage(type, method, stage);
                    if (parsed is not null && HiddenBy(method) is { } hiding)
                    {
                        Report(DiagnosticDescriptors.BadStageSignature, LocationOf(hiding), stage, $"{method.ContainingType.Name}.{method.Name}",
                            $"'{hiding.ContainingType.Name}.{hiding.Name}' hides it without the [{stage}] attribute, so the handler would call that method instead; mark it [{stage}], or override the base's method");
                        parsed = null;
                    }
                    if (parsed is not null)
                    {
                        stages[stage] = parsed;
                    }
                }
            }
        }
        return stages;
    }

    /// <summary>A method of the handler or a class between it and the stage's class that hides the stage (same name and parameters, not an override).</summary>
    private IMethodSymbol? HiddenBy(IMethodSymbol stage)
    {
        for (var current = _handler; current is not null && !SymbolEqualityComparer.Default.Equals(current, stage.ContainingType); current = current.BaseType)
        {
            foreach (var member in current.GetMembers(stage.Name).OfType<IMethodSymbol>())
            {
                if (!member.IsOverride
                    && member.Parameters.Length == stage.Parameters.Length
                    && member.Parameters.Zip(stage.Parameters, (a, b) => SymbolEqualityComparer.Default.Equals(a.Type, b.Type)).All(same => same))
                {
                    return member;
                }
            }
        }
        return null;
    }

    /// <summary>Where to report a problem with a method: its declaration if it is in this compilation, else the handler.</summary>
    private Location? LocationOf(IMethodSymbol method) =>
        method.Locations.FirstOrDefault(l => l.IsInSource) ?? _handler.Locations.FirstOrDefault();

    /// <summary>A stage method's name as a message gives it: qualified by its class when a base declares it.</summary>
    private string NameOf(ParsedStage stage) => NameOf(stage.Method);

    private string NameOf(IMethodSymbol method) =>
        SymbolEqualityComparer.Default.Equals(method.ContainingType, _handler) ? method.Name : $"{method.ContainingType.Name}.{method.Name}";

    /// <summary>How many classes up from the handler <paramref name="type"/> is: 0 for the handler itself.</summary>
    private int Depth(INamedTypeSymbol type)
    {
        var depth = 0;
        for (var current = _handler; current is not null && !SymbolEqualityComparer.Default.Equals(current, type); current = current.BaseType)
        {
            depth++;
        }
        return depth;
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
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingType, type)
            && (method.DeclaredAccessibility is Accessibility.Private or Accessibility.NotApplicable
                || (method.DeclaredAccessibility is Accessibility.Internal or Accessibility.ProtectedAndInternal
                    && !SymbolEqualityComparer.Default.Equals(method.ContainingAssembly, type.ContainingAssembly))))
        {
            return Bad($"it is {method.DeclaredAccessibility.ToString().ToLowerInvariant()} in the base class '{method.ContainingType.Name}', so handler '{type.Name}' cannot call it; make it protected or public");
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
                && !(_known.IsImplicitlyConvertible(_known.Batch, input) && Nullability.Fits(_known.Batch, input)))
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
            Report(DiagnosticDescriptors.BadStageSignature, LocationOf(method), stage, NameOf(method), reason);
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

    private void CheckFeeds(ITypeSymbol output, string producer, ParsedStage? producerStage, ParsedStage consumer)
    {
        var consumerName = $"[{consumer.Spec.Stage}] '{NameOf(consumer)}'";
        // With inheritance the two stages may come from different classes: report at the one
        // nearer the handler (the override that stopped fitting); the message names both.
        var location = producerStage is not null && Depth(producerStage.Method.ContainingType) < Depth(consumer.Method.ContainingType)
            ? LocationOf(producerStage.Method)
            : LocationOf(consumer.Method);
        if (!_known.IsImplicitlyConvertible(output, consumer.Input!))
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, location,
                consumerName, Quoted(consumer.Input!), producer, Quoted(output), "");
        }
        else if (!Nullability.Fits(output, consumer.Input!))
        {
            Report(DiagnosticDescriptors.StageTypeMismatch, location,
                consumerName, Quoted(consumer.Input!), producer, Quoted(output),
                ", which may hold null where no null is taken; make the two types' nullability agree");
        }
    }
}
