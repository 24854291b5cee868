using Serve.Generators.Model;
using static Serve.Generators.GeneratedCode;

namespace Serve.Generators;

/// <summary>
/// Writes a handler's result types as JSON with <c>Utf8JsonWriter</c>, in a nested class of its own
/// so that no generated name can clash with the user's members.
/// </summary>
internal static class JsonWriterEmitter
{
    /// <summary>Reserved for the implementation (two underscores), so no user member takes it.</summary>
    public const string ClassName = "__ServeJson";

    private const string JsonWriter = "global::System.Text.Json.Utf8JsonWriter";

    public static void Emit(SourceWriter w, HandlerSpec handler)
    {
        var needed = handler.Result.Kind == ResultKind.Json || handler.ExplainResult?.Kind == ResultKind.Json;
        if (!needed)
        {
            return;
        }
        w.Line();
        w.Line("/// <summary>Writes this handler's results as System.Text.Json writes them with JsonSerializerOptions.Web.</summary>");
        w.Line(Attribute);
        w.Open($"private static class {ClassName}");
        var first = true;
        EmitTopLevel(w, "WriteResult", handler.Result, ref first);
        if (handler.ExplainResult is { } explain)
        {
            EmitTopLevel(w, "WriteExplanation", explain, ref first);
        }
        foreach (var type in handler.JsonObjects)
        {
            w.Line();
            var parameter = type.IsReferenceType ? type.TypeName + "?" : type.TypeName;
            w.Open($"private static void WriteObject({JsonWriter} writer, {parameter} value)");
            if (type.IsReferenceType)
            {
                w.Open("if (value is null)");
                w.Line("writer.WriteNullValue();");
                w.Line("return;");
                w.Close();
            }
            w.Line("writer.WriteStartObject();");
            foreach (var property in type.Properties)
            {
                EmitProperty(w, property);
            }
            w.Line("writer.WriteEndObject();");
            w.Close();
        }
        w.Close();
    }

    private static void EmitTopLevel(SourceWriter w, string name, ResultSpec result, ref bool first)
    {
        if (result.Kind != ResultKind.Json)
        {
            return;
        }
        if (!first)
        {
            w.Line();
        }
        first = false;
        // A reference type is taken as nullable: a null result is written as null, as System.Text.Json does.
        var parameter = result.Json!.IsReferenceType && !result.ElementType.EndsWith("?", System.StringComparison.Ordinal)
            ? result.ElementType + "?"
            : result.ElementType;
        w.Open($"public static void {name}({JsonWriter} writer, {parameter} value)");
        EmitValue(w, "value", result.Json, depth: 0);
        w.Close();
    }

    private static void EmitProperty(SourceWriter w, JsonPropertySpec property)
    {
        var name = Literal(property.JsonName);
        var value = property.DeclaringType is null ? "value." + property.MemberName : $"(({property.DeclaringType})value).{property.MemberName}";
        switch (property.Value.Kind)
        {
            case JsonValueKind.String:
                w.Line($"writer.WriteString({name}, {value});");
                break;
            case JsonValueKind.Number:
                w.Line($"writer.WriteNumber({name}, {value});");
                break;
            case JsonValueKind.Boolean:
                w.Line($"writer.WriteBoolean({name}, {value});");
                break;
            default:
                w.Line($"writer.WritePropertyName({name});");
                EmitValue(w, value, property.Value, depth: 0);
                break;
        }
    }

    private static void EmitValue(SourceWriter w, string value, JsonValueSpec spec, int depth)
    {
        var nullable = spec.IsReferenceType && spec.Kind is JsonValueKind.Array or JsonValueKind.Dictionary or JsonValueKind.Base64;
        if (nullable)
        {
            w.Open($"if ({value} is null)");
            w.Line("writer.WriteNullValue();");
            w.Close();
            w.Open("else");
        }

        switch (spec.Kind)
        {
            case JsonValueKind.String:
            case JsonValueKind.StringLike:
                w.Line($"writer.WriteStringValue({value});");
                break;
            case JsonValueKind.Char:
                w.Line($"writer.WriteStringValue({value}.ToString());");
                break;
            case JsonValueKind.Base64:
                w.Line($"writer.WriteBase64StringValue({value});");
                break;
            case JsonValueKind.Boolean:
                w.Line($"writer.WriteBooleanValue({value});");
                break;
            case JsonValueKind.Number:
                w.Line($"writer.WriteNumberValue({value});");
                break;
            case JsonValueKind.Enum:
                w.Line($"writer.WriteNumberValue(({spec.EnumUnderlyingType}){value});");
                break;
            case JsonValueKind.NullableValue:
                // No pattern variable here: it would leak into the method and clash with the next one.
                w.Open($"if ({value}.HasValue)");
                EmitValue(w, $"{value}.GetValueOrDefault()", spec.Element!, depth + 1);
                w.Close();
                w.Open("else");
                w.Line("writer.WriteNullValue();");
                w.Close();
                break;
            case JsonValueKind.Array:
                w.Line("writer.WriteStartArray();");
                w.Open($"foreach ({spec.Element!.TypeName} item{depth} in {Enumerated(value, spec)})");
                EmitValue(w, $"item{depth}", spec.Element!, depth + 1);
                w.Close();
                w.Line("writer.WriteEndArray();");
                break;
            case JsonValueKind.Dictionary:
                w.Line("writer.WriteStartObject();");
                w.Open($"foreach (global::System.Collections.Generic.KeyValuePair<string, {spec.Element!.TypeName}> pair{depth} in {Enumerated(value, spec)})");
                w.Line($"writer.WritePropertyName(pair{depth}.Key);");
                EmitValue(w, $"pair{depth}.Value", spec.Element!, depth + 1);
                w.Close();
                w.Line("writer.WriteEndObject();");
                break;
            case JsonValueKind.Object:
                w.Line($"WriteObject(writer, {value});");
                break;
        }

        if (nullable)
        {
            w.Close();
        }
    }

    /// <summary>A user's collection is enumerated through the interface System.Text.Json uses, not its own GetEnumerator.</summary>
    private static string Enumerated(string value, JsonValueSpec spec) =>
        spec.EnumerableType is null ? value : $"(({spec.EnumerableType}){value})";
}
