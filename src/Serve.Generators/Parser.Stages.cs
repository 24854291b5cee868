using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
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
        if (method.MethodKind == MethodKind.ExplicitInterfaceImplementation && method.ExplicitInterfaceImplementations.IsEmpty)
        {
            _compilerError = true; // It implements nothing the compiler found (CS0539): the compiler says so.
            return null;
        }
        if (method.IsStatic && method.MethodKind == MethodKind.ExplicitInterfaceImplementation)
        {
            return Bad("it is a static explicit interface implementation, which generated code cannot call");
        }
        if (HiddenBy(method) is { } hiding)
        {
            Report(DiagnosticDescriptors.BadStageSignature, LocationOf(hiding), stage, NameOf(method),
                $"'{hiding.ContainingType.Name}.{hiding.Name}' hides it without the [{stage}] attribute, so the handler would call that method instead; mark it [{stage}], or override the base's method");
            return null;
        }
        var (target, receiver, methodName, unreachable) = CallTarget(type, method);
        if (unreachable is not null)
        {
            return Bad(unreachable);
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
        // The call returns what the most derived override returns (a covariant return).
        var (awaitable, result) = Unwrap(target.ReturnType);
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

        if (CheckBinding(type, method, receiver, methodName, parameters, required: false) is { } misbinding)
        {
            return Bad(misbinding);
        }
        receiver = Simplest(type, method, receiver, methodName, parameters);
        var overloaded = OtherMembersNamed(type, method);
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

    /// <summary>
    /// How the generated call reaches the stage: the method that runs (the most derived override
    /// of a virtual stage, whose return type may be covariant), the receiver, and the name. The
    /// receiver names the class that declares that method wherever C# allows it, so no member of
    /// a class nearer the handler (an overload, a static helper, a field) can take the call:
    /// <c>((Base)this).Run</c>, <c>Base.Run</c> for a static, <c>((IStage)this).Run</c> for an
    /// explicit interface implementation. A protected method is reached through <c>this</c>
    /// (C# allows no other qualifier), and <see cref="CheckBinding"/> proves that call binds to it.
    /// Where the plain <c>this.</c> call binds to the stage as well, <see cref="Simplest"/> keeps that.
    /// </summary>
    private (IMethodSymbol Target, string Receiver, string Name, string? Unreachable) CallTarget(INamedTypeSymbol type, IMethodSymbol method)
    {
        if (method.MethodKind == MethodKind.ExplicitInterfaceImplementation)
        {
            var implemented = method.ExplicitInterfaceImplementations[0];
            var receiverText = $"(({Name(implemented.ContainingType)})this)";
            if (!_known.Compilation.IsSymbolAccessibleWithin(implemented, type))
            {
                return (method, receiverText, implemented.Name, $"interface '{implemented.ContainingType.Name}' is not accessible from handler '{type.Name}'");
            }
            var implementation = type.FindImplementationForInterfaceMember(implemented) as IMethodSymbol;
            if (implementation is null || !InOverrideChain(implementation, method))
            {
                return (method, receiverText, implemented.Name,
                    $"handler '{type.Name}' implements '{implemented.ContainingType.Name}.{implemented.Name}' again{(implementation is null ? "" : $" with '{implementation.ContainingType.Name}.{implementation.Name}'")}, so a call through the interface would not reach it; mark the method that implements it now");
            }
            return (method, receiverText, implemented.Name, null);
        }

        var target = MostDerivedOverride(type, method);
        if (!_known.Compilation.IsSymbolAccessibleWithin(target, type))
        {
            var where = SymbolEqualityComparer.Default.Equals(target.ContainingAssembly, type.ContainingAssembly) ? "" : " of another assembly";
            return (target, "this", target.Name,
                $"it is {AccessibilityText(target.DeclaredAccessibility)} in the base class '{target.ContainingType.Name}'{where}, so handler '{type.Name}' cannot call it; make it protected or public");
        }
        string receiver;
        if (target.IsStatic)
        {
            receiver = Name(target.ContainingType);
        }
        else if (SymbolEqualityComparer.Default.Equals(target.ContainingType, type)
            || !_known.Compilation.IsSymbolAccessibleWithin(target, type, target.ContainingType))
        {
            receiver = "this"; // The handler's own, or protected: C# allows only 'this' as its qualifier.
        }
        else
        {
            receiver = $"(({Name(target.ContainingType)})this)";
        }
        return (target, receiver, target.Name, null);
    }

    /// <summary>The plain receiver where it reaches the stage as well (the usual case: nothing else has its name), else the qualified one.</summary>
    private string Simplest(INamedTypeSymbol type, IMethodSymbol stage, string receiver, string methodName, List<StageParameter> parameters)
    {
        var plain = stage.IsStatic ? Name(type) : "this";
        return receiver != plain
            && stage.MethodKind != MethodKind.ExplicitInterfaceImplementation
            && CheckBinding(type, stage, plain, methodName, parameters, required: true) is null
            ? plain
            : receiver;
    }

    /// <summary>The override of <paramref name="method"/> nearest the handler, or the method itself.</summary>
    private static IMethodSymbol MostDerivedOverride(INamedTypeSymbol type, IMethodSymbol method)
    {
        if (method.IsStatic || !(method.IsVirtual || method.IsAbstract || method.IsOverride))
        {
            return method;
        }
        for (var current = type; current is not null && !SymbolEqualityComparer.Default.Equals(current, method.ContainingType); current = current.BaseType)
        {
            foreach (var member in current.GetMembers(method.Name).OfType<IMethodSymbol>())
            {
                if (member.IsOverride && InOverrideChain(member, method))
                {
                    return member;
                }
            }
        }
        return method;
    }

    /// <summary>True when <paramref name="method"/> is <paramref name="ancestor"/> or overrides it, directly or not: a call to either runs the same code.</summary>
    private static bool InOverrideChain(IMethodSymbol method, IMethodSymbol ancestor)
    {
        for (IMethodSymbol? current = method; current is not null; current = current.OverriddenMethod)
        {
            if (SymbolEqualityComparer.Default.Equals(current, ancestor) || SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, ancestor.OriginalDefinition))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Binds the call the generator writes, as the compiler will, inside the handler class, with
    /// arguments of exactly the parameter types. Returns why it does not reach the stage (C#
    /// picks another member, or cannot decide), or null when it does.
    /// </summary>
    /// <param name="required">When there is no class body to bind in: true says the call is not proven, false trusts the qualified receiver.</param>
    private string? CheckBinding(INamedTypeSymbol type, IMethodSymbol stage, string receiver, string methodName, List<StageParameter> parameters, bool required)
    {
        if (type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_cancellationToken)).OfType<TypeDeclarationSyntax>()
                .FirstOrDefault(d => d.OpenBraceToken.Span.Length > 0) is not { } declaration)
        {
            // No body to bind in (a record with parameters only).
            return required ? "not proven" : null;
        }
        var self = $"default({Name(type)})";
        var speculativeReceiver = receiver == "this" ? self : receiver.Replace(")this)", $"){self})");
        var arguments = string.Join(", ", parameters.Select(p => $"default({p.Type})"));
        var text = $"{speculativeReceiver}.{Identifier(methodName)}({arguments})";
        var expression = SyntaxFactory.ParseExpression(text);
        var model = _semanticModel is { } known && known.SyntaxTree == declaration.SyntaxTree
            ? known
            : _semanticModel = _known.Compilation.GetSemanticModel(declaration.SyntaxTree);
        var info = model.GetSpeculativeSymbolInfo(declaration.OpenBraceToken.Span.End, expression, SpeculativeBindingOption.BindAsExpression);
        var shown = $"{(receiver == "this" ? "this" : receiver)}.{methodName}(...)";
        if (info.Symbol is IMethodSymbol bound)
        {
            var expected = stage.MethodKind == MethodKind.ExplicitInterfaceImplementation ? stage.ExplicitInterfaceImplementations[0] : stage;
            if (InOverrideChain(bound, expected) || InOverrideChain(expected, bound))
            {
                return null;
            }
            return $"the call '{shown}' in handler '{type.Name}' binds to '{bound.ContainingType.Name}.{bound.Name}({string.Join(", ", bound.Parameters.Select(p => p.Type.ToDisplayString(MessageFormat)))})' instead, "
                + "which C# prefers; make the stage public or internal so the call can name its class, or rename one of them";
        }
        var candidates = info.CandidateSymbols.Select(c => $"'{c.ContainingType?.Name}.{c.Name}'").Distinct().ToArray();
        return $"the call '{shown}' in handler '{type.Name}' does not bind to it ({(info.CandidateReason == CandidateReason.None ? "C# finds no such method" : info.CandidateReason.ToString())}"
            + $"{(candidates.Length == 0 ? "" : ": " + string.Join(", ", candidates))}); rename it or the member that takes its name";
    }

    /// <summary>True when another member the call could meet has the same name, in the handler's classes, the stage's, or the implemented interface.</summary>
    private static bool OtherMembersNamed(INamedTypeSymbol type, IMethodSymbol method)
    {
        var target = method.MethodKind == MethodKind.ExplicitInterfaceImplementation ? method.ExplicitInterfaceImplementations[0] : method;
        var types = new List<ITypeSymbol>();
        for (ITypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            types.Add(current);
        }
        types.AddRange(target.ContainingType.AllInterfaces);
        types.Add(target.ContainingType);
        return types.SelectMany(t => t.GetMembers(target.Name))
            .Any(m => m is not IMethodSymbol other || !(InOverrideChain(other, target) || InOverrideChain(target, other) || SymbolEqualityComparer.Default.Equals(other, method)));
    }

    private static string AccessibilityText(Accessibility accessibility) => accessibility switch
    {
        Accessibility.ProtectedAndInternal => "private protected",
        Accessibility.ProtectedOrInternal => "protected internal",
        _ => accessibility.ToString().ToLowerInvariant(),
    };

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
