using System.Buffers;
using System.Collections.Generic;
using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serve.Runtime;

namespace Serve.Server.CompilerServices;

/// <summary>
/// One compiled handler as the OpenAPI description shows it. The generator writes
/// <paramref name="Response"/> (the 200 response, with the schema of the postprocess output)
/// and <paramref name="Schemas"/> (the object types it uses) as JSON text. Generated code only.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed record OpenApiHandler(string Name, bool CanExplain, string Response, string Schemas);

/// <summary>
/// The app's OpenAPI 3.0 description, served at <c>/openapi/v1.json</c>: built once at startup
/// from what the generator knows of each handler, with no reflection (native AOT safe).
/// Generated <c>MapServeEndpoints()</c> maps it; not for code written by hand.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ServeOpenApi
{
    public const string Path = "/openapi/v1.json";

    private static readonly (string Status, string Description)[] Errors =
    [
        ("400", "The input is unusable (not an image, an empty body...)."),
        ("404", "No model by that name is served."),
        ("413", "The body is larger than the server accepts."),
        ("500", "A handler stage failed; the message names it."),
        ("503", "The model's queue is full (see Retry-After) or it is shutting down."),
        ("504", "The request's batch took longer than the model's responseTimeout."),
    ];

    public static IEndpointConventionBuilder MapServeOpenApi(IEndpointRouteBuilder endpoints, IReadOnlyList<OpenApiHandler> handlers)
    {
        var document = Build(handlers);
        return endpoints.MapGet(Path, new RequestDelegate(httpContext =>
        {
            httpContext.Response.ContentType = InferenceResult.JsonContentType;
            httpContext.Response.ContentLength = document.Length;
            return httpContext.Response.Body.WriteAsync(document, httpContext.RequestAborted).AsTask();
        }));
    }

    /// <summary>The OpenAPI document, as UTF-8 JSON.</summary>
    public static byte[] Build(IReadOnlyList<OpenApiHandler> handlers)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("openapi", "3.0.1");
            w.WriteStartObject("info");
            w.WriteString("title", "Serve");
            w.WriteString("version", "1");
            w.WriteEndObject();

            w.WriteStartObject("paths");
            w.WriteStartObject("/ping");
            w.WriteStartObject("get");
            w.WriteString("summary", "Health: {\"status\": \"Healthy\"} once every configured model is loaded, Unhealthy while a model cannot serve its minWorkers.");
            w.WriteStartObject("responses");
            w.WriteStartObject("200");
            w.WriteString("description", "Healthy.");
            w.WriteEndObject();
            w.WriteStartObject("500");
            w.WriteString("description", "Unhealthy: a model failed to load or lacks its minWorkers.");
            w.WriteEndObject();
            w.WriteStartObject("503");
            w.WriteString("description", "Starting: the configured models are loading.");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            foreach (var handler in handlers)
            {
                WritePath(w, "/predictions/" + handler.Name, $"Predict with model '{handler.Name}'", handler.Response);
                if (handler.CanExplain)
                {
                    WritePath(w, "/explanations/" + handler.Name, $"Explain a prediction of model '{handler.Name}'", null);
                }
            }
            w.WriteEndObject();

            w.WriteStartObject("components");
            w.WriteStartObject("schemas");
            var written = new HashSet<string>();
            foreach (var handler in handlers)
            {
                using var schemas = JsonDocument.Parse(handler.Schemas);
                foreach (var schema in schemas.RootElement.EnumerateObject())
                {
                    if (written.Add(schema.Name))
                    {
                        schema.WriteTo(w);
                    }
                }
            }
            w.WriteStartObject("TorchServeError");
            w.WriteString("type", "object");
            w.WriteStartObject("properties");
            w.WriteStartObject("code");
            w.WriteString("type", "integer");
            w.WriteEndObject();
            w.WriteStartObject("type");
            w.WriteString("type", "string");
            w.WriteEndObject();
            w.WriteStartObject("message");
            w.WriteString("type", "string");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WritePath(Utf8JsonWriter w, string path, string summary, string? response)
    {
        w.WriteStartObject(path);
        foreach (var method in new[] { "post", "put" })
        {
            w.WriteStartObject(method);
            w.WriteString("summary", summary);
            w.WriteStartObject("requestBody");
            w.WriteBoolean("required", true);
            w.WriteStartObject("content");
            // The handler reads the body as sent, whatever its type; a form upload gives the part named "data".
            w.WriteStartObject("application/octet-stream");
            w.WriteStartObject("schema");
            w.WriteString("type", "string");
            w.WriteString("format", "binary");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("multipart/form-data");
            w.WriteStartObject("schema");
            w.WriteString("type", "object");
            w.WriteStartObject("properties");
            w.WriteStartObject("data");
            w.WriteString("type", "string");
            w.WriteString("format", "binary");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("responses");
            if (response is null)
            {
                w.WriteStartObject("200");
                w.WriteString("description", "One explanation per request.");
                w.WriteEndObject();
            }
            else
            {
                w.WritePropertyName("200");
                w.WriteRawValue(response);
            }
            foreach (var (status, description) in Errors)
            {
                w.WriteStartObject(status);
                w.WriteString("description", description);
                w.WriteStartObject("content");
                w.WriteStartObject("application/json");
                w.WriteStartObject("schema");
                w.WriteString("$ref", "#/components/schemas/TorchServeError");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
