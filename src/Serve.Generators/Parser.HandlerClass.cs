using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Serve.Generators;

/// <summary>The checks of the [Handler] class itself: its name, its shape, how it is created.</summary>
internal sealed partial class Parser
{
    /// <summary>The members the generator adds to a handler class by name.</summary>
    private static readonly string[] GeneratedMemberNames = { OpenApiEmitter.ResponseName, OpenApiEmitter.SchemasName, JsonWriterEmitter.ClassName };

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

        // A class nested in a generic class is generic too (IsGenericType): one reason is enough.
        if (type.ContainingType is not null)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, $"nested in '{type.ContainingType.Name}'");
        }
        else if (type.IsGenericType)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name, "generic");
        }
        if (Array.IndexOf(GeneratedMemberNames, type.Name) >= 0)
        {
            Report(DiagnosticDescriptors.UnsupportedHandlerClass, location, type.Name,
                $"named '{type.Name}', the name of a member Serve generates into it (a member cannot have its class's name); rename the class");
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
    /// True when a base class implements IHandler already (a [Handler] in this assembly or
    /// another, or a hand-written one): the generated part then states every IHandler member, or
    /// the ones it leaves out would still map to the base's implementation.
    /// </summary>
    private bool InheritsHandler(INamedTypeSymbol type)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (IsHandlerClass(current)
                || (_known.IHandler is not null && current.Interfaces.Contains(_known.IHandler, SymbolEqualityComparer.Default)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// True when a generated member named <paramref name="name"/> would hide one the handler
    /// inherits, so it needs <c>new</c>: a member of a base that the handler can see (a base in a
    /// library that gives this assembly its internals, or the user's own), or one the generator
    /// will write into a [Handler] base of this assembly, which it does only when that base has
    /// no error of its own (the generator's compilation does not hold its output yet).
    /// </summary>
    private bool InheritsMemberNamed(INamedTypeSymbol type, string name)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (current.GetMembers(name).Any(m => !m.IsImplicitlyDeclared && _known.Compilation.IsSymbolAccessibleWithin(m, type)))
            {
                return true;
            }
            if (SymbolEqualityComparer.Default.Equals(current.ContainingAssembly, type.ContainingAssembly)
                && current.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, _known.HandlerAttribute)) is { } attribute
                && !IsGeneratedSource(current)
                && Parse(current, attribute, _known, new System.Collections.Generic.List<Diagnostic>(), _cancellationToken) is not null)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when the generated part of a [Handler] is in the compilation already (the analyzer's view): its members were found above.</summary>
    private static bool IsGeneratedSource(INamedTypeSymbol type) =>
        type.DeclaringSyntaxReferences.Any(r => r.SyntaxTree.FilePath.EndsWith(".Serve.g.cs", System.StringComparison.Ordinal));

    private bool IsHandlerClass(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, _known.HandlerAttribute));

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
