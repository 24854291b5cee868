using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Serve.Generators;

/// <summary>The checks of the [Handler] class itself: its name, its shape, how it is created.</summary>
internal sealed partial class Parser
{
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

    /// <summary>
    /// True when a base class in this assembly is a [Handler] as well: the generator wrote the
    /// same members into it, visible here. A base in another assembly has them internal there.
    /// </summary>
    private bool DerivesFromHandlerInAssembly(INamedTypeSymbol type)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.ContainingAssembly, type.ContainingAssembly)
                && current.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, _known.HandlerAttribute)))
            {
                return true;
            }
        }
        return false;
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
}
