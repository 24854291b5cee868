using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>
/// Writes, for each [Handler] class, its IHandler implementation; for the assembly, its public
/// registration; and for an app that references Serve.Server, MapServeEndpoints().
/// Errors are reported by <see cref="HandlerAnalyzer"/>; a class with errors is skipped here.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class HandlerGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var handlers = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownTypes.HandlerAttributeName,
                predicate: static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                transform: static (attributeContext, cancellationToken) => Parse(attributeContext, cancellationToken))
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(TrackingNames.Handlers);

        var facts = context.CompilationProvider
            .Select(static (compilation, _) => Facts(compilation))
            .WithTrackingName(TrackingNames.CompilationFacts);

        var allHandlers = handlers.Collect()
            .Select(static (all, _) => all.OrderBy(static h => h.MetadataName, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.AllHandlers);

        context.RegisterSourceOutput(allHandlers.Combine(facts), static (output, pair) =>
        {
            if (!pair.Right.SupportedLanguage)
            {
                return; // SERVE012 says why.
            }
            var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var handler in pair.Left)
            {
                output.AddSource(UniqueHintName(handler.MetadataName, used), SourceText.From(HandlerEmitter.Emit(handler), Encoding.UTF8));
            }
        });

        var registrations = handlers
            .Select(static (spec, _) => new RegistrationSpec(spec.HandlerName, spec.FullyQualifiedName, spec.Explain is not null))
            .Collect()
            .Select(static (all, _) => Deduplicate(all))
            .WithTrackingName(TrackingNames.Registrations);

        context.RegisterSourceOutput(registrations.Combine(facts), static (output, pair) =>
        {
            var (handlers, facts) = pair;
            if (!facts.SupportedLanguage)
            {
                return;
            }
            if (handlers.Count > 0)
            {
                output.AddSource(RegistrationEmitter.HintName, SourceText.From(RegistrationEmitter.Emit(handlers, facts), Encoding.UTF8));
            }
            if (facts.HasServer)
            {
                output.AddSource(EndpointEmitter.HintName, SourceText.From(EndpointEmitter.Emit(handlers, facts), Encoding.UTF8));
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

    private static CompilationFacts Facts(Compilation compilation)
    {
        var assemblyName = compilation.AssemblyName ?? "Handlers";
        return new CompilationFacts(
            assemblyName,
            AssemblyIdentifier(assemblyName),
            HasDependencyInjection: compilation.GetTypeByMetadataName("Microsoft.Extensions.DependencyInjection.IServiceCollection") is not null,
            HasServer: compilation.GetTypeByMetadataName("Serve.Server.Http.TorchServeHttp") is not null
                && compilation.GetTypeByMetadataName("Microsoft.AspNetCore.Routing.IEndpointRouteBuilder") is not null,
            SupportedLanguage: compilation is not CSharpCompilation csharp || csharp.LanguageVersion >= LanguageVersion.CSharp9);
    }

    /// <summary>"Acme.Vision" → "AcmeVision", "my-models" → "MyModels", "3d" → "_3d".</summary>
    internal static string AssemblyIdentifier(string assemblyName)
    {
        var builder = new StringBuilder();
        var upper = true;
        foreach (var c in assemblyName)
        {
            if (c < 128 && char.IsLetterOrDigit(c))
            {
                builder.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }
        if (builder.Length == 0 || char.IsDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }
        return builder.ToString();
    }

    /// <summary>
    /// A hint name that is a legal file name whatever the user's identifiers hold (keywords, any
    /// letters) and unique without regard to case, as file systems may compare names.
    /// </summary>
    internal static string UniqueHintName(string metadataName, HashSet<string> used)
    {
        var safe = new StringBuilder(metadataName.Length);
        foreach (var c in metadataName)
        {
            safe.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' ? c : '_');
        }
        var name = safe + ".Serve.g.cs";
        for (var n = 2; !used.Add(name); n++)
        {
            name = $"{safe}.{n}.Serve.g.cs";
        }
        return name;
    }

    /// <summary>Sorted by name; names equal without regard to case (an error SERVE007 reports) keep the first handler.</summary>
    private static EquatableArray<RegistrationSpec> Deduplicate(IEnumerable<RegistrationSpec> registrations) =>
        registrations
            .GroupBy(static r => r.HandlerName, StringComparer.OrdinalIgnoreCase)
            .Select(static g => g.OrderBy(static r => r.FullyQualifiedName, StringComparer.Ordinal).First())
            .OrderBy(static r => r.HandlerName, StringComparer.Ordinal)
            .ToEquatableArray();
}
