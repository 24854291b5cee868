namespace Serve.Generators.Model;

internal enum JsonValueKind
{
    String,
    Boolean,
    Number,
    /// <summary>A value Utf8JsonWriter writes as a string: Guid, DateTime, DateTimeOffset.</summary>
    StringLike,
    Char,
    /// <summary>A byte[], written as a base64 string as System.Text.Json does.</summary>
    Base64,
    /// <summary>An enum, written as its underlying number (System.Text.Json's default).</summary>
    Enum,
    NullableValue,
    Array,
    Dictionary,
    Object,
}

/// <summary>How one value is written. <see cref="Element"/> is the item of an array, the value of a dictionary, the inner of a Nullable.</summary>
/// <param name="EnumerableType">For a collection that is not an array: the <c>IEnumerable&lt;T&gt;</c> it is enumerated as, as System.Text.Json does.</param>
internal sealed record JsonValueSpec(JsonValueKind Kind, string TypeName, bool IsReferenceType, JsonValueSpec? Element, string? EnumUnderlyingType, string? EnumerableType = null);

/// <summary>A type written as a JSON object by its own emitted method.</summary>
internal sealed record JsonObjectSpec(string TypeName, bool IsReferenceType, EquatableArray<JsonPropertySpec> Properties);

/// <param name="MemberName">Escaped for C#.</param>
/// <param name="DeclaringType">Set for a property that a more derived member hides: it is read through this class.</param>
internal sealed record JsonPropertySpec(string JsonName, string MemberName, JsonValueSpec Value, string? DeclaringType = null);
