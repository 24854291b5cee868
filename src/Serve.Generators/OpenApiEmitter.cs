using System.Text;
using Serve.Generators.Model;
using static Serve.Generators.GeneratedCode;

namespace Serve.Generators;

/// <summary>
/// Writes what a handler adds to the app's OpenAPI description: the successful response of
/// its predictions (content type and JSON schema, derived from the postprocess output type)
/// and the schemas of the object types in it. Emitted as JSON text constants, which the
/// server's OpenAPI document composes without reflection.
/// </summary>
internal static class OpenApiEmitter
{
    public const string ResponseName = "ServeOpenApiResponse";
    public const string SchemasName = "ServeOpenApiSchemas";

    public static void EmitMembers(SourceWriter w, HandlerSpec handler)
    {
        // 'new' exactly where an inherited member of the name is visible (a [Handler] base's own constants).
        w.Line();
        w.Line("/// <summary>The OpenAPI response object of this handler's predictions.</summary>");
        w.Line(Attribute);
        w.Line($"internal {(handler.HidesOpenApiResponse ? "new " : "")}const string {ResponseName} = {Literal(Response(handler.Result))};");
        w.Line();
        w.Line("/// <summary>The OpenAPI schemas of the object types in this handler's results, by name.</summary>");
        w.Line(Attribute);
        w.Line($"internal {(handler.HidesOpenApiSchemas ? "new " : "")}const string {SchemasName} = {Literal(Schemas(handler))};");
    }

    private static string Response(ResultSpec result)
    {
        var (contentType, schema) = result.Kind switch
        {
            ResultKind.Json => ("application/json", Schema(result.Json!)),
            // The user's JsonSerializerContext writes it: its shape is that context's, not known here.
            ResultKind.JsonTypeInfo => ("application/json", "{}"),
            ResultKind.Text => ("text/plain", "{\"type\":\"string\"}"),
            ResultKind.Bytes => ("application/octet-stream", "{\"type\":\"string\",\"format\":\"binary\"}"),
            // InferenceResults the handler builds itself carry their own content type.
            _ => ("*/*", "{}"),
        };
        var description = result.Kind == ResultKind.Results ? "The handler's result." : "One result per request: " + Display(result.ElementType) + ".";
        return "{\"description\":" + Json(description) + ",\"content\":{" + Json(contentType) + ":{\"schema\":" + schema + "}}}";
    }

    private static string Schemas(HandlerSpec handler)
    {
        var text = new StringBuilder("{");
        var first = true;
        foreach (var type in handler.JsonObjects)
        {
            if (!first)
            {
                text.Append(',');
            }
            first = false;
            text.Append(Json(Display(type.TypeName))).Append(":{\"type\":\"object\",\"properties\":{");
            for (var i = 0; i < type.Properties.Count; i++)
            {
                var property = type.Properties[i];
                text.Append(i == 0 ? "" : ",").Append(Json(property.JsonName)).Append(':').Append(Schema(property.Value));
            }
            text.Append("}}");
        }
        return text.Append('}').ToString();
    }

    private static string Schema(JsonValueSpec value) => value.Kind switch
    {
        JsonValueKind.String or JsonValueKind.Char => "{\"type\":\"string\"}",
        JsonValueKind.StringLike => Display(value.TypeName) switch
        {
            "System.Guid" => "{\"type\":\"string\",\"format\":\"uuid\"}",
            _ => "{\"type\":\"string\",\"format\":\"date-time\"}",
        },
        JsonValueKind.Base64 => "{\"type\":\"string\",\"format\":\"byte\"}",
        JsonValueKind.Boolean => "{\"type\":\"boolean\"}",
        JsonValueKind.Number => value.TypeName switch
        {
            "float" => "{\"type\":\"number\",\"format\":\"float\"}",
            "double" => "{\"type\":\"number\",\"format\":\"double\"}",
            "decimal" => "{\"type\":\"number\"}",
            "long" or "ulong" => "{\"type\":\"integer\",\"format\":\"int64\"}",
            _ => "{\"type\":\"integer\",\"format\":\"int32\"}",
        },
        JsonValueKind.Enum => "{\"type\":\"integer\"}",
        JsonValueKind.NullableValue => "{\"allOf\":[" + Schema(value.Element!) + "],\"nullable\":true}",
        JsonValueKind.Array => "{\"type\":\"array\",\"items\":" + Schema(value.Element!) + "}",
        JsonValueKind.Dictionary => "{\"type\":\"object\",\"additionalProperties\":" + Schema(value.Element!) + "}",
        _ => "{\"$ref\":" + Json("#/components/schemas/" + Display(value.TypeName)) + "}",
    };

    /// <summary>A type's name as a reader (and an OpenAPI schema name) shows it: no global::, no nullable mark.</summary>
    private static string Display(string typeName) => typeName.Replace("global::", "").TrimEnd('?');

    private static string Json(string value)
    {
        var text = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case < ' ': text.Append("\\u").Append(((int)c).ToString("x4")); break;
                default: text.Append(c); break;
            }
        }
        return text.Append('"').ToString();
    }
}
