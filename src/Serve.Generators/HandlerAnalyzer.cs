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
            var names = new ConcurrentBag<(string Name, INamedTypeSymbol Type, Location Location)>();
            start.RegisterSymbolAction(symbol => AnalyzeType(symbol, known, names), SymbolKind.NamedType);
            start.RegisterCompilationEndAction(end => ReportDuplicateNames(end, names));
        });
    }

    private static void AnalyzeType(SymbolAnalysisContext context, KnownTypes known, ConcurrentBag<(string, INamedTypeSymbol, Location)> names)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var handlerAttribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.HandlerAttribute));
        if (handlerAttribute is null)
        {
            ReportStagesOutsideHandler(context, type);
            return;
        }

        var diagnostics = new List<Diagnostic>();
        Parser.Parse(type, handlerAttribute, known, diagnostics, context.CancellationToken);
        foreach (var diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic);
        }
        if (type.TypeKind == TypeKind.Class && Parser.HandlerName(handlerAttribute) is { } name)
        {
            names.Add((name, type, Parser.AttributeLocation(handlerAttribute, type)));
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

    private static void ReportStagesOutsideHandler(SymbolAnalysisContext context, INamedTypeSymbol type)
    {
        if (type.IsAbstract && !type.IsStatic)
        {
            return; // an abstract base of handlers: its stages are checked in each [Handler] that derives from it
        }
        foreach (var method in type.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var attribute in method.GetAttributes())
            {
                if (Stages.Of(attribute.AttributeClass) is { } stage)
                {
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StageOutsideHandler,
                        method.Locations.FirstOrDefault(), method.Name, stage, type.Name));
                }
            }
        }
    }

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
