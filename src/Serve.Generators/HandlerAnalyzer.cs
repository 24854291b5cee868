using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Serve.Generators;

/// <summary>
/// Reports every handler mistake live in the IDE and in the build: the same checks the
/// generator's parser makes, plus the ones that need more than one class.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class HandlerAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.HandlerNotPartial,
        DiagnosticDescriptors.StageOutsideHandler,
        DiagnosticDescriptors.DuplicateStage,
        DiagnosticDescriptors.StageTypeMismatch,
        DiagnosticDescriptors.BadStageSignature,
        DiagnosticDescriptors.UnserializableResult,
        DiagnosticDescriptors.DuplicateHandlerName,
        DiagnosticDescriptors.UnsupportedHandlerClass,
        DiagnosticDescriptors.NoDefaultStage,
        DiagnosticDescriptors.InvalidHandlerName,
        DiagnosticDescriptors.HandlerNotCreatable,
        DiagnosticDescriptors.LanguageVersionTooOld,
        DiagnosticDescriptors.RuntimeNotReferenced);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (KnownTypes.Create(start.Compilation) is not { } known)
            {
                // [Handler] without Serve.Runtime: the generator can write nothing, so say why.
                if (start.Compilation.GetTypeByMetadataName(KnownTypes.HandlerAttributeName) is { } attribute)
                {
                    start.RegisterSymbolAction(symbol => ReportRuntimeMissing(symbol, attribute), SymbolKind.NamedType);
                }
                return;
            }
            var state = new CompilationState(HasInternalsVisibleTo(start.Compilation), IsApp(start.Compilation));
            start.RegisterSymbolAction(symbol => AnalyzeType(symbol, known, state), SymbolKind.NamedType);
            start.RegisterCompilationEndAction(end =>
            {
                ReportDuplicateNames(end, state.Names);
                ReportShared(end, state);
                ReportStagesOutsideHandlers(end, state);
            });
        });
    }

    /// <summary>What the symbol actions gather for the end of the compilation.</summary>
    private sealed class CompilationState(bool hasInternalsVisibleTo, bool isApp)
    {
        public bool HasInternalsVisibleTo { get; } = hasInternalsVisibleTo;
        /// <summary>An executable, or a host (it references Serve.Server): no other assembly derives from its classes.</summary>
        public bool IsApp { get; } = isApp;
        public ConcurrentBag<(string Name, INamedTypeSymbol Type, Location Location)> Names { get; } = new();
        /// <summary>Diagnostics at a base class's member, which every handler deriving from it finds: reported once.</summary>
        public ConcurrentBag<(string Handler, Diagnostic Diagnostic)> Shared { get; } = new();
        /// <summary>Every base class of a [Handler].</summary>
        public ConcurrentDictionary<INamedTypeSymbol, bool> HandlerBases { get; } = new(SymbolEqualityComparer.Default);
        /// <summary>Types that are not handlers but mark stages.</summary>
        public ConcurrentBag<INamedTypeSymbol> StageHolders { get; } = new();
    }

    private static void AnalyzeType(SymbolAnalysisContext context, KnownTypes known, CompilationState state)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var handlerAttribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.HandlerAttribute));
        if (handlerAttribute is null)
        {
            if (StageMethods(type).Any())
            {
                state.StageHolders.Add(type);
                ReportHiddenFromOtherAssemblies(context, type, state);
            }
            return;
        }
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            state.HandlerBases.TryAdd(current.OriginalDefinition, true);
        }

        var diagnostics = new List<Diagnostic>();
        Parser.Parse(type, handlerAttribute, known, diagnostics, context.CancellationToken);
        foreach (var diagnostic in diagnostics)
        {
            if (IsInside(diagnostic.Location, type))
            {
                context.ReportDiagnostic(diagnostic);
            }
            else
            {
                state.Shared.Add((type.ToDisplayString(), diagnostic));
            }
        }
        if (type.TypeKind == TypeKind.Class && Parser.HandlerName(handlerAttribute) is { } name)
        {
            state.Names.Add((name, type, Parser.AttributeLocation(handlerAttribute, type)));
        }
    }

    /// <summary>True when the location is in one of the type's own declarations (not a base class's).</summary>
    private static bool IsInside(Location location, INamedTypeSymbol type) =>
        !location.IsInSource
        || type.DeclaringSyntaxReferences.Any(r => r.SyntaxTree == location.SourceTree && r.Span.Contains(location.SourceSpan));

    /// <summary>A base class's mistake, found once per handler deriving from it, is reported once (by the first handler by name).</summary>
    private static void ReportShared(CompilationAnalysisContext context, CompilationState state)
    {
        foreach (var group in state.Shared.GroupBy(s => (s.Diagnostic.Id, s.Diagnostic.Location)))
        {
            context.ReportDiagnostic(group.OrderBy(s => s.Handler, StringComparer.Ordinal).First().Diagnostic);
        }
    }

    private static void ReportRuntimeMissing(SymbolAnalysisContext context, INamedTypeSymbol handlerAttribute)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, handlerAttribute)) is { } attribute)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.RuntimeNotReferenced, Parser.AttributeLocation(attribute, type), type.Name));
        }
    }

    private static IEnumerable<(IMethodSymbol Method, Stage Stage)> StageMethods(INamedTypeSymbol type) =>
        type.GetMembers().OfType<IMethodSymbol>()
            .SelectMany(method => method.GetAttributes().Select(a => Stages.Of(a.AttributeClass)).Where(s => s is not null).Select(s => (method, s!.Value)));

    /// <summary>
    /// SERVE002: a stage on a type no handler can inherit it from: an interface, a struct, a
    /// static or sealed class, or a class that is not a handler, nor abstract, nor a base of a
    /// handler here, nor (in a library) one that other assemblies can derive from.
    /// </summary>
    private static void ReportStagesOutsideHandlers(CompilationAnalysisContext context, CompilationState state)
    {
        foreach (var type in state.StageHolders.Distinct<INamedTypeSymbol>(SymbolEqualityComparer.Default).OrderBy(t => t.ToDisplayString(), StringComparer.Ordinal))
        {
            string? why = type.TypeKind switch
            {
                TypeKind.Interface => $"'{type.Name}' is an interface, and stages are read from a handler and its base classes only; mark the method of the class that implements it",
                not TypeKind.Class => $"'{type.Name}' is a {type.TypeKind.ToString().ToLowerInvariant()}, which no handler can derive from",
                _ when type.IsStatic || type.IsSealed => $"class '{type.Name}' is {(type.IsStatic ? "static" : "sealed")} and not a [Handler], so no handler can derive from it",
                _ when type.IsAbstract || state.HandlerBases.ContainsKey(type.OriginalDefinition)
                    || (!state.IsApp && DerivableElsewhere(type, state.HasInternalsVisibleTo)) => null,
                _ => $"class '{type.Name}' has no [Handler] attribute and no handler {(state.IsApp ? "" : "here or elsewhere ")}can derive from it (mark it [Handler], or derive a handler from it)",
            };
            if (why is null)
            {
                continue;
            }
            foreach (var (method, stage) in StageMethods(type))
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StageOutsideHandler,
                    method.Locations.FirstOrDefault(), method.Name, stage, why));
            }
        }
    }

    /// <summary>
    /// SERVE005 on a library's base class: an internal stage is not even imported by another
    /// assembly without InternalsVisibleTo, so a handler deriving from it there would run without
    /// it, silently. Said here, where the stage is.
    /// </summary>
    private static void ReportHiddenFromOtherAssemblies(SymbolAnalysisContext context, INamedTypeSymbol type, CompilationState state)
    {
        if (state.IsApp || state.HasInternalsVisibleTo || !DerivableElsewhere(type, hasInternalsVisibleTo: false))
        {
            return;
        }
        foreach (var (method, stage) in StageMethods(type))
        {
            if (method.DeclaredAccessibility is Accessibility.Internal or Accessibility.ProtectedAndInternal)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.BadStageSignature, method.Locations.FirstOrDefault(), stage, $"{type.Name}.{method.Name}",
                    $"it is {(method.DeclaredAccessibility == Accessibility.Internal ? "internal" : "private protected")} in '{type.Name}', a class other assemblies can derive from, but a handler there cannot see it and would run without it; make it protected or protected internal"));
            }
        }
    }

    /// <summary>True when a class in another assembly can derive from this one.</summary>
    private static bool DerivableElsewhere(INamedTypeSymbol type, bool hasInternalsVisibleTo)
    {
        if (type.TypeKind != TypeKind.Class || type.IsSealed || type.IsStatic)
        {
            return false;
        }
        for (var current = type; current is not null; current = current.ContainingType)
        {
            if (!(current.DeclaredAccessibility is Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal
                || (hasInternalsVisibleTo && current.DeclaredAccessibility is Accessibility.Internal)))
            {
                return false;
            }
        }
        return type.InstanceConstructors.Any(c => c.DeclaredAccessibility is Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal
            || (hasInternalsVisibleTo && c.DeclaredAccessibility is Accessibility.Internal or Accessibility.ProtectedAndInternal));
    }

    private static bool IsApp(Compilation compilation) =>
        compilation.Options.OutputKind is not (OutputKind.DynamicallyLinkedLibrary or OutputKind.NetModule)
        || compilation.GetTypeByMetadataName("Serve.Server.Http.TorchServeHttp") is not null;

    private static bool HasInternalsVisibleTo(Compilation compilation) =>
        compilation.Assembly.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == "System.Runtime.CompilerServices.InternalsVisibleToAttribute");

    /// <summary>Names equal without regard to case clash: URL routing and TorchServe's model names ignore case.</summary>
    private static void ReportDuplicateNames(CompilationAnalysisContext context, IEnumerable<(string Name, INamedTypeSymbol Type, Location Location)> names)
    {
        foreach (var group in names.GroupBy(n => n.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            // The first by full name keeps the name; the others are reported, in a stable order.
            var ordered = group.OrderBy(n => n.Type.ToDisplayString(), StringComparer.Ordinal).ToArray();
            foreach (var duplicate in ordered.Skip(1))
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DuplicateHandlerName,
                    duplicate.Location, duplicate.Name, ordered[0].Type.ToDisplayString(), ordered[0].Name));
            }
        }
    }
}
