using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Serve.Generators.Model;

namespace Serve.Generators;

/// <summary>
/// Describes how a result type is written as JSON, byte for byte as System.Text.Json writes it
/// with <c>JsonSerializerOptions.Web</c> (camelCase names, [JsonPropertyName], [JsonIgnore],
/// enums as numbers, byte[] as base64), and collects the object types that need a writer method.
/// Anything else System.Text.Json would write differently is refused with a reason (SERVE006).
/// </summary>
internal sealed class JsonTypeParser(KnownTypes known)
{
    private const string SerializationNamespace = "System.Text.Json.Serialization";

    // JsonIgnoreCondition values.
    private const int IgnoreNever = 0;
    private const int IgnoreAlways = 1;

    /// <summary>System.Text.Json attributes that change nothing about how a value is written.</summary>
    private static readonly HashSet<string> WriteNeutralAttributes = new(StringComparer.Ordinal)
    {
        "JsonRequiredAttribute", "JsonObjectCreationHandlingAttribute", "JsonUnmappedMemberHandlingAttribute", "JsonConstructorAttribute",
    };

    /// <summary>
    /// How many constructions of one generic type may nest: more means a type that holds ever
    /// larger versions of itself (<c>Node&lt;T&gt;</c> holding a <c>Node&lt;List&lt;T&gt;&gt;</c>), which has no end.
    /// A chain of distinct types is finite however long, and System.Text.Json limits only the
    /// depth of values, at run time.
    /// </summary>
    private const int MaxConstructionsOfOneType = 8;

    private readonly Dictionary<string, JsonObjectSpec?> _byName = new();

    /// <summary>The object types being described, outermost first.</summary>
    private readonly List<INamedTypeSymbol> _path = new();

    /// <summary>True when a type met is one the compiler reports as an error.</summary>
    public bool CompilerError { get; private set; }

    /// <summary>The object types met so far, in the order they were first met.</summary>
    public List<JsonObjectSpec> Objects { get; } = new();

    public JsonValueSpec? Describe(ITypeSymbol type, out string? reason)
    {
        reason = null;
        var name = type.ToDisplayString(Parser.TypeFormat);
        var shown = type.ToDisplayString(Parser.MessageFormat);
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

        if (type.TypeKind == TypeKind.Error)
        {
            CompilerError = true; // The compiler reports the unknown type; a SERVE006 would only repeat it.
            reason = $"'{shown}' is not a type the compiler knows";
            return null;
        }
        if (known.IsObsoleteError(type))
        {
            reason = $"'{shown}' is marked [Obsolete] as an error";
            return null;
        }
        if (SerializationAttribute(type) is { } typeAttribute)
        {
            reason = $"'{shown}' has [{typeAttribute}], which only System.Text.Json applies";
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
            return Wrap(JsonValueKind.NullableValue, nullable.TypeArguments[0], name, false, null, out reason);
        }
        if (type is IArrayTypeSymbol array)
        {
            if (array.Rank != 1)
            {
                reason = $"'{shown}' is a multi-dimensional array; use a jagged array or a list";
                return null;
            }
            if (array.ElementType.SpecialType == SpecialType.System_Byte)
            {
                return new JsonValueSpec(JsonValueKind.Base64, name, true, null, null);
            }
            return Wrap(JsonValueKind.Array, array.ElementType, name, true, null, out reason);
        }
        if (type.IsRefLikeType || type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer or TypeKind.Delegate or TypeKind.Dynamic or TypeKind.TypeParameter)
        {
            reason = $"'{shown}' is a {type.TypeKind.ToString().ToLowerInvariant()}{(type.IsRefLikeType ? " (a ref struct)" : "")}";
            return null;
        }

        // Collections, as System.Text.Json classifies them: dictionaries first, then IEnumerable<T>.
        var selfAndInterfaces = SelfAndInterfaces(type).ToArray();
        var dictionary = selfAndInterfaces.FirstOrDefault(t => IsGeneric(t, known.IDictionaryOfT) || IsGeneric(t, known.IReadOnlyDictionaryOfT));
        if (dictionary is not null)
        {
            if (dictionary.TypeArguments[0].SpecialType != SpecialType.System_String)
            {
                reason = $"'{shown}' has '{dictionary.TypeArguments[0].ToDisplayString(Parser.MessageFormat)}' keys; only string keys are written by generated code";
                return null;
            }
            var pairs = $"global::System.Collections.Generic.IEnumerable<global::System.Collections.Generic.KeyValuePair<string, {dictionary.TypeArguments[1].ToDisplayString(Parser.TypeFormat)}>>";
            return Wrap(JsonValueKind.Dictionary, dictionary.TypeArguments[1], name, type.IsReferenceType, IsSystemType(type) ? null : pairs, out reason);
        }
        if (selfAndInterfaces.Any(t => SymbolEqualityComparer.Default.Equals(t, known.IDictionary)))
        {
            reason = $"'{shown}' is a non-generic dictionary; its values have no type known at compile time";
            return null;
        }
        var enumerables = selfAndInterfaces.Where(t => IsGeneric(t, known.IEnumerableOfT)).ToArray();
        if (enumerables.Length > 1)
        {
            reason = $"'{shown}' is a collection of more than one item type";
            return null;
        }
        if (enumerables.Length == 1)
        {
            var item = enumerables[0].TypeArguments[0];
            var items = $"global::System.Collections.Generic.IEnumerable<{item.ToDisplayString(Parser.TypeFormat)}>";
            return Wrap(JsonValueKind.Array, item, name, type.IsReferenceType, IsSystemType(type) ? null : items, out reason);
        }
        if (selfAndInterfaces.Any(t => SymbolEqualityComparer.Default.Equals(t, known.IEnumerable)))
        {
            reason = $"'{shown}' is a non-generic collection; its items have no type known at compile time";
            return null;
        }

        if (IsSystemType(type))
        {
            // DateOnly, TimeSpan, Uri, JsonElement, JsonNode, KeyValuePair, tuples...: System.Text.Json
            // writes these in formats of its own, which the generated writer does not reproduce.
            reason = $"'{shown}' has a System.Text.Json format of its own that the generated writer does not reproduce";
            return null;
        }
        if (type.TypeKind == TypeKind.Interface)
        {
            reason = $"'{shown}' is an interface whose implementation is not known at compile time";
            return null;
        }
        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Class or TypeKind.Struct } named)
        {
            reason = $"'{shown}' is not a class, struct or collection";
            return null;
        }
        return DescribeObject(named, out reason);
    }

    private JsonValueSpec? Wrap(JsonValueKind kind, ITypeSymbol inner, string name, bool isReference, string? enumerableType, out string? reason)
    {
        var element = Describe(inner, out reason);
        return element is null ? null : new JsonValueSpec(kind, name, isReference, element, null, enumerableType);
    }

    private JsonValueSpec? DescribeObject(INamedTypeSymbol type, out string? reason)
    {
        reason = null;
        var plain = (INamedTypeSymbol)type.WithNullableAnnotation(NullableAnnotation.NotAnnotated);
        var name = plain.ToDisplayString(Parser.TypeFormat);
        // The value keeps its annotation (a T? item of a list is declared as T?); the writer method takes the plain type.
        var value = new JsonValueSpec(JsonValueKind.Object, type.ToDisplayString(Parser.TypeFormat), type.IsReferenceType, null, null);
        if (_byName.ContainsKey(name))
        {
            return value; // Described already, or being described higher up a recursive type.
        }

        if (type.IsGenericType
            && _path.Count(t => SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, type.OriginalDefinition)) >= MaxConstructionsOfOneType)
        {
            reason = $"'{type.ToDisplayString(Parser.MessageFormat)}' is a generic type that holds ever larger versions of itself, which no writer can end";
            return null;
        }
        _byName[name] = null;
        _path.Add(type);
        var properties = DescribeProperties(type, out reason);
        _path.RemoveAt(_path.Count - 1);
        if (properties is null)
        {
            _byName.Remove(name);
            return null;
        }
        var spec = new JsonObjectSpec(name, type.IsReferenceType, properties.ToEquatableArray());
        _byName[name] = spec;
        Objects.Add(spec);
        return value;
    }

    /// <summary>One property as System.Text.Json's default resolver sees it, in the order it meets them.</summary>
    private sealed class Candidate(IPropertySymbol property, string jsonName, bool ignored, bool readable)
    {
        public IPropertySymbol Property { get; } = property;
        public string JsonName { get; } = jsonName;
        public bool Ignored { get; } = ignored;
        public bool Readable { get; } = readable;
    }

    /// <summary>
    /// The properties System.Text.Json writes, resolved as its default resolver does: each class
    /// from the type up to its base, its own declarations only; each JSON name (compared without
    /// regard to case under the web defaults) taken by the first property to claim it; a later
    /// one of the same C# name that the earlier hides or overrides dropped; an ignored one giving
    /// way to the next; a virtual property left out where an override of it is ignored; two
    /// different properties of one JSON name refused, as System.Text.Json refuses the type.
    /// A hidden base property that keeps a JSON name of its own is written through its class.
    /// </summary>
    private List<JsonPropertySpec>? DescribeProperties(INamedTypeSymbol type, out string? reason)
    {
        reason = null;
        var chosen = new List<Candidate>();
        var byJsonName = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var ignoredByName = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        for (var current = type; current is not null && current.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType); current = current.BaseType)
        {
            foreach (var member in current.GetMembers())
            {
                if (member.IsStatic || member is not (IPropertySymbol or IFieldSymbol) || member is IFieldSymbol { IsImplicitlyDeclared: true })
                {
                    continue;
                }
                var where = $"property '{type.Name}.{member.Name}'";
                var attribute = SerializationAttribute(member, "JsonIgnoreAttribute", "JsonPropertyNameAttribute", "JsonIncludeAttribute");
                if (attribute is not null)
                {
                    reason = $"{where} has [{attribute}], which only System.Text.Json applies";
                    return null;
                }
                if (member is IFieldSymbol field)
                {
                    if (HasAttribute(field, "JsonIncludeAttribute"))
                    {
                        reason = $"field '{type.Name}.{field.Name}' has [JsonInclude], which only System.Text.Json applies; make it a property";
                        return null;
                    }
                    continue; // JsonSerializerOptions.Web leaves fields out.
                }
                var property = (IPropertySymbol)member;
                if (property.IsIndexer
                    || (ignoredByName.TryGetValue(property.Name, out var ignoredOverride)
                        && IsVirtual(property) && IsVirtual(ignoredOverride.Property)
                        && SymbolEqualityComparer.Default.Equals(property.Type, ignoredOverride.Property.Type)))
                {
                    continue; // An indexer, or a virtual property whose override is ignored.
                }
                var readable = property.DeclaredAccessibility == Accessibility.Public && property.GetMethod is { DeclaredAccessibility: Accessibility.Public };
                var writable = property.DeclaredAccessibility == Accessibility.Public && property.SetMethod is { DeclaredAccessibility: Accessibility.Public };
                if (!readable && HasAttribute(property, "JsonIncludeAttribute"))
                {
                    reason = $"{where} has [JsonInclude] but no public getter, which only System.Text.Json reads";
                    return null;
                }
                if (!readable && !writable)
                {
                    continue;
                }

                var ignored = false;
                var ignore = property.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.JsonIgnoreAttribute));
                if (ignore is not null)
                {
                    var condition = ignore.NamedArguments.FirstOrDefault(a => a.Key == "Condition").Value.Value ?? IgnoreAlways;
                    if (condition is not (IgnoreAlways or IgnoreNever))
                    {
                        reason = $"{where} has a conditional [JsonIgnore], which only System.Text.Json applies";
                        return null;
                    }
                    ignored = condition is IgnoreAlways;
                }
                var candidate = new Candidate(property, JsonName(property), ignored, readable);
                if (!byJsonName.TryGetValue(candidate.JsonName, out var index))
                {
                    byJsonName[candidate.JsonName] = chosen.Count;
                    chosen.Add(candidate);
                }
                else if (chosen[index].Ignored)
                {
                    chosen[index] = candidate; // An ignored property gives its name way.
                }
                else if (!(candidate.Ignored
                    || HiddenBy(candidate, chosen[index])
                    || (ignoredByName.TryGetValue(property.Name, out var hidingIgnored) && HiddenBy(candidate, hidingIgnored))))
                {
                    reason = $"properties '{chosen[index].Property.ContainingType.Name}.{chosen[index].Property.Name}' and '{current.Name}.{property.Name}' are both named '{candidate.JsonName}' in JSON (System.Text.Json refuses such a type)";
                    return null;
                }
                if (ignored)
                {
                    ignoredByName[property.Name] = candidate;
                }
            }
        }

        var properties = new List<JsonPropertySpec>();
        foreach (var candidate in chosen.Where(c => !c.Ignored && c.Readable))
        {
            var property = candidate.Property;
            var where = $"property '{type.Name}.{property.Name}'";
            if (property.ReturnsByRef || property.ReturnsByRefReadonly)
            {
                reason = $"{where} returns by reference";
                return null;
            }
            if (known.IsObsoleteError(property))
            {
                reason = $"{where} is marked [Obsolete] as an error, so generated code cannot read it";
                return null;
            }
            var value = Describe(property.Type, out var inner);
            if (value is null)
            {
                reason = $"{where}: {inner}";
                return null;
            }
            // A property that a more derived one hides is read through the class that declares it.
            var hidden = HidesName(type, property);
            properties.Add(new JsonPropertySpec(candidate.JsonName, Parser.Identifier(property.Name), value,
                hidden ? property.ContainingType.ToDisplayString(Parser.TypeFormat) : null));
        }
        return properties;
    }

    /// <summary>True when a class between <paramref name="type"/> and the property's own declares a member of its name that is not an override of it.</summary>
    private static bool HidesName(INamedTypeSymbol type, IPropertySymbol property)
    {
        for (var current = type; current is not null && !SymbolEqualityComparer.Default.Equals(current, property.ContainingType); current = current.BaseType)
        {
            if (current.GetMembers(property.Name).Any(m => m is not IPropertySymbol p || !Overrides(p, property)))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Overrides(IPropertySymbol property, IPropertySymbol ancestor)
    {
        for (IPropertySymbol? current = property; current is not null; current = current.OverriddenProperty)
        {
            if (SymbolEqualityComparer.Default.Equals(current, ancestor))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>System.Text.Json's IsOverriddenOrShadowedBy: the same C# name, declared in a base of the other's class.</summary>
    private static bool HiddenBy(Candidate candidate, Candidate other) =>
        candidate.Property.Name == other.Property.Name
        && IsBaseOf(candidate.Property.ContainingType, other.Property.ContainingType);

    private static bool IsBaseOf(INamedTypeSymbol ancestor, INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current, ancestor))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Virtual as reflection sees the accessors: virtual, abstract or an override.</summary>
    private static bool IsVirtual(IPropertySymbol property) => property.IsVirtual || property.IsAbstract || property.IsOverride;

    /// <summary>The first System.Text.Json serialization attribute on the symbol that the generated writer does not apply.</summary>
    private static string? SerializationAttribute(ISymbol symbol, params string[] handled)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass is { } attributeClass
                && attributeClass.ContainingNamespace.ToDisplayString() == SerializationNamespace
                && !WriteNeutralAttributes.Contains(attributeClass.Name)
                && Array.IndexOf(handled, attributeClass.Name) < 0)
            {
                return attributeClass.Name.EndsWith("Attribute", StringComparison.Ordinal)
                    ? attributeClass.Name.Substring(0, attributeClass.Name.Length - "Attribute".Length)
                    : attributeClass.Name;
            }
        }
        return null;
    }

    private static bool HasAttribute(ISymbol symbol, string name) =>
        symbol.GetAttributes().Any(a => a.AttributeClass?.Name == name && a.AttributeClass.ContainingNamespace.ToDisplayString() == SerializationNamespace);

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

    /// <summary>
    /// A type of the framework (System.*, Microsoft.* from a framework assembly), whose JSON form
    /// is System.Text.Json's own business. The user's own types under such a namespace are not.
    /// </summary>
    private bool IsSystemType(ITypeSymbol type)
    {
        if (type.ContainingAssembly is not { } assembly
            || SymbolEqualityComparer.Default.Equals(assembly, known.Compilation.Assembly)
            || !(assembly.Name is "mscorlib" or "netstandard" || assembly.Name.StartsWith("System.", StringComparison.Ordinal)
                || assembly.Name.StartsWith("Microsoft.", StringComparison.Ordinal) || assembly.Name == "System"))
        {
            return false;
        }
        var root = type.ContainingNamespace;
        while (root is { ContainingNamespace.IsGlobalNamespace: false })
        {
            root = root.ContainingNamespace;
        }
        return root is { Name: "System" or "Microsoft" };
    }

    private static bool IsGeneric(INamedTypeSymbol type, INamedTypeSymbol? definition) =>
        type.IsGenericType && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, definition);

    private static IEnumerable<INamedTypeSymbol> SelfAndInterfaces(ITypeSymbol type) =>
        (type is INamedTypeSymbol named ? new[] { named } : Array.Empty<INamedTypeSymbol>()).Concat(type.AllInterfaces);
}
