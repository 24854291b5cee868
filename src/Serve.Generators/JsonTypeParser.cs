using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>
/// Describes how a result type is written as JSON, the way System.Text.Json's web defaults
/// would (camelCase names, [JsonPropertyName], [JsonIgnore], enums as numbers, byte[] as
/// base64), and collects the object types that need a writer method.
/// </summary>
internal sealed class JsonTypeParser(KnownTypes known)
{
    private readonly Dictionary<string, JsonObjectSpec?> _byName = new();

    /// <summary>The object types met so far, in the order they were first met.</summary>
    public List<JsonObjectSpec> Objects { get; } = new();

    public JsonValueSpec? Describe(ITypeSymbol type, out string? reason)
    {
        reason = null;
        var name = type.ToDisplayString(Parser.TypeFormat);
        var isReference = type.IsReferenceType;
        switch (type.SpecialType)
        {
            case SpecialType.System_String:
                return new JsonValueSpec(JsonValueKind.String, name, true, null, null);
            case SpecialType.System_Boolean:
                return new JsonValueSpec(JsonValueKind.Boolean, name, false, null, null);
            case SpecialType.System_Char:
                return new JsonValueSpec(JsonValueKind.Char, name, false, null, null);
            case SpecialType.System_SByte or SpecialType.System_Byte or SpecialType.System_Int16 or SpecialType.System_UInt16
                or SpecialType.System_Int32 or SpecialType.System_UInt32 or SpecialType.System_Int64 or SpecialType.System_UInt64
                or SpecialType.System_Single or SpecialType.System_Double or SpecialType.System_Decimal:
                return new JsonValueSpec(JsonValueKind.Number, name, false, null, null);
            case SpecialType.System_DateTime:
                return new JsonValueSpec(JsonValueKind.StringLike, name, false, null, null);
            case SpecialType.System_Object:
                reason = "'object' has no shape known at compile time";
                return null;
        }

        if (SymbolEqualityComparer.Default.Equals(type, known.Guid) || SymbolEqualityComparer.Default.Equals(type, known.DateTimeOffset))
        {
            return new JsonValueSpec(JsonValueKind.StringLike, name, false, null, null);
        }
        if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
        {
            return new JsonValueSpec(JsonValueKind.Enum, name, false, null, underlying.ToDisplayString(Parser.TypeFormat));
        }
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            return Wrap(JsonValueKind.NullableValue, nullable.TypeArguments[0], name, false, out reason);
        }
        if (type is IArrayTypeSymbol array)
        {
            if (array.Rank != 1)
            {
                reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' is a multi-dimensional array; use a jagged array or a list";
                return null;
            }
            if (array.ElementType.SpecialType == SpecialType.System_Byte)
            {
                return new JsonValueSpec(JsonValueKind.Base64, name, true, null, null);
            }
            return Wrap(JsonValueKind.Array, array.ElementType, name, true, out reason);
        }
        if (type.IsRefLikeType || type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer or TypeKind.Delegate or TypeKind.Dynamic or TypeKind.TypeParameter or TypeKind.Error)
        {
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' is a {type.TypeKind.ToString().ToLowerInvariant()}{(type.IsRefLikeType ? " (a ref struct)" : "")}";
            return null;
        }

        var enumerable = AllSelfAndInterfaces(type)
            .FirstOrDefault(t => t.IsGenericType && SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, known.IEnumerableOfT));
        if (enumerable is not null)
        {
            var item = enumerable.TypeArguments[0];
            if (item is INamedTypeSymbol { IsGenericType: true } pair && SymbolEqualityComparer.Default.Equals(pair.OriginalDefinition, known.KeyValuePair))
            {
                if (pair.TypeArguments[0].SpecialType != SpecialType.System_String)
                {
                    reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' has '{pair.TypeArguments[0].ToDisplayString(Parser.MessageFormat)}' keys; JSON object keys are strings";
                    return null;
                }
                return Wrap(JsonValueKind.Dictionary, pair.TypeArguments[1], name, isReference, out reason);
            }
            return Wrap(JsonValueKind.Array, item, name, isReference, out reason);
        }

        if (type.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true } && type.TypeKind != TypeKind.Enum)
        {
            // DateOnly, TimeSpan, Uri, Version...: System.Text.Json writes these as strings in
            // formats of its own, which the generated writer does not reproduce.
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' has a System.Text.Json format of its own that the generated writer does not reproduce";
            return null;
        }
        if (HasAttribute(type, known.JsonConverterAttribute))
        {
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' has a [JsonConverter], which only System.Text.Json runs";
            return null;
        }
        if (type.TypeKind == TypeKind.Interface)
        {
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' is an interface whose implementation is not known at compile time";
            return null;
        }
        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named)
        {
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' is not a class, struct or collection";
            return null;
        }
        return DescribeObject(named, out reason);
    }

    private JsonValueSpec? Wrap(JsonValueKind kind, ITypeSymbol inner, string name, bool isReference, out string? reason)
    {
        var element = Describe(inner, out reason);
        return element is null ? null : new JsonValueSpec(kind, name, isReference, element, null);
    }

    private JsonValueSpec? DescribeObject(INamedTypeSymbol type, out string? reason)
    {
        reason = null;
        var plain = (INamedTypeSymbol)type.WithNullableAnnotation(NullableAnnotation.NotAnnotated);
        var name = plain.ToDisplayString(Parser.TypeFormat);
        var value = new JsonValueSpec(JsonValueKind.Object, name, type.IsReferenceType, null, null);
        if (_byName.ContainsKey(name))
        {
            return value; // Described already, or being described higher up a recursive type.
        }

        _byName[name] = null;
        var properties = new List<JsonPropertySpec>();
        var seen = new HashSet<string>();
        foreach (var property in PublicProperties(type))
        {
            if (!seen.Add(property.Name))
            {
                continue;
            }
            var ignore = property.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.JsonIgnoreAttribute));
            if (ignore is not null)
            {
                // JsonIgnoreCondition.Always is 1; any other condition depends on the value at run time.
                var condition = ignore.NamedArguments.FirstOrDefault(a => a.Key == "Condition").Value.Value;
                if (condition is null or 1)
                {
                    continue;
                }
                reason = $"property '{type.Name}.{property.Name}' has a conditional [JsonIgnore], which only System.Text.Json applies";
                _byName.Remove(name);
                return null;
            }
            if (HasAttribute(property, known.JsonConverterAttribute))
            {
                reason = $"property '{type.Name}.{property.Name}' has a [JsonConverter], which only System.Text.Json runs";
                _byName.Remove(name);
                return null;
            }
            var propertyValue = Describe(property.Type, out var inner);
            if (propertyValue is null)
            {
                reason = $"property '{type.Name}.{property.Name}': {inner}";
                _byName.Remove(name);
                return null;
            }
            properties.Add(new JsonPropertySpec(JsonName(property), property.Name, propertyValue));
        }

        var spec = new JsonObjectSpec(name, type.IsReferenceType, properties.ToEquatableArray());
        _byName[name] = spec;
        Objects.Add(spec);
        return value;
    }

    /// <summary>Readable public instance properties, the most derived first, as declared.</summary>
    private static IEnumerable<IPropertySymbol> PublicProperties(INamedTypeSymbol type)
    {
        for (var current = type; current is not null && current.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType); current = current.BaseType)
        {
            foreach (var property in current.GetMembers().OfType<IPropertySymbol>())
            {
                if (!property.IsStatic && !property.IsIndexer && property.DeclaredAccessibility == Accessibility.Public
                    && property.GetMethod is { DeclaredAccessibility: Accessibility.Public })
                {
                    yield return property;
                }
            }
        }
    }

    private string JsonName(IPropertySymbol property)
    {
        var attribute = property.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.JsonPropertyNameAttribute));
        if (attribute?.ConstructorArguments.FirstOrDefault().Value is string explicitName)
        {
            return explicitName;
        }
        return CamelCase(property.Name);
    }

    /// <summary>System.Text.Json's JsonNamingPolicy.CamelCase: "Digit" → "digit", "URLValue" → "urlValue".</summary>
    internal static string CamelCase(string name)
    {
        if (name.Length == 0 || !char.IsUpper(name[0]))
        {
            return name;
        }
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (i == 1 && !char.IsUpper(chars[i]))
            {
                break;
            }
            var hasNext = i + 1 < chars.Length;
            if (i > 0 && hasNext && !char.IsUpper(chars[i + 1]))
            {
                if (chars[i + 1] == ' ')
                {
                    chars[i] = char.ToLowerInvariant(chars[i]);
                }
                break;
            }
            chars[i] = char.ToLowerInvariant(chars[i]);
        }
        return new string(chars);
    }

    private static bool HasAttribute(ISymbol symbol, INamedTypeSymbol? attribute) =>
        attribute is not null && symbol.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attribute));

    private static IEnumerable<INamedTypeSymbol> AllSelfAndInterfaces(ITypeSymbol type) =>
        (type is INamedTypeSymbol named ? new[] { named } : []).Concat(type.AllInterfaces);
}
