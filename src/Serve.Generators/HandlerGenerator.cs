using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using Serve.Generators.Model;
using System.Text;

namespace Serve.Generators;

/// <summary>
/// Writes, for each [Handler] class, its IHandler implementation, and for the assembly a
/// registry, an AddServeHandlers() extension and a MapServeEndpoints() extension.
/// Errors are reported by <see cref="HandlerAnalyzer"/>; a class with errors is skipped here.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class HandlerGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var handlers = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypes.HandlerAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (attributeContext, cancellationToken) => Parse(attributeContext, cancellationToken))
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(TrackingNames.Handlers);

        context.RegisterSourceOutput(handlers, static (output, spec) =>
            output.AddSource(spec.HintName, SourceText.From(Emitter.EmitHandler(spec), Encoding.UTF8)));

        var registrations = handlers
            .Select(static (spec, _) => new RegistrationSpec(spec.HandlerName, spec.FullyQualifiedName, spec.Explain is not null))
            .Collect()
            .Select(static (all, _) => Deduplicate(all))
            .WithTrackingName(TrackingNames.Registrations);

        var canMapEndpoints = context.CompilationProvider
            .Select(static (compilation, _) => compilation.GetTypeByMetadataName("Microsoft.AspNetCore.Routing.IEndpointRouteBuilder") is not null)
            .WithTrackingName(TrackingNames.HostingSupport);

        context.RegisterSourceOutput(registrations.Combine(canMapEndpoints), static (output, pair) =>
        {
            if (pair.Left.Count > 0)
            {
                output.AddSource("ServeHandlerRegistry.g.cs", SourceText.From(Emitter.EmitRegistry(pair.Left, pair.Right), Encoding.UTF8));
            }
        });
    }

    private static HandlerSpec? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type
            || KnownTypes.Create(context.SemanticModel.Compilation) is not { } known)
        {
            return null;
        }
        var diagnostics = new List<Diagnostic>();
        return Parser.Parse(type, context.Attributes[0], known, diagnostics, cancellationToken);
    }

    /// <summary>Sorted by name; a duplicate name (an error SERVE007 reports) keeps its first handler.</summary>
    private static EquatableArray<RegistrationSpec> Deduplicate(IEnumerable<RegistrationSpec> registrations) =>
        registrations
            .GroupBy(static r => r.HandlerName)
            .Select(static g => g.OrderBy(static r => r.FullyQualifiedName, System.StringComparer.Ordinal).First())
            .OrderBy(static r => r.HandlerName, System.StringComparer.Ordinal)
            .ToEquatableArray();
}
