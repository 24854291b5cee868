using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's API description (its OpenApiUtils.listApis): <c>OPTIONS /</c>, and the deprecated
/// <c>GET /api-description</c>, answer an OpenAPI 3.0.1 document of the listener's API, the
/// inference API on the inference listener and the management API on the management listener.
/// Paths are templates (<c>/predictions/{model_name}</c>), as TorchServe writes them; the
/// per-model schemas of an app's compiled handlers are in its own <c>/openapi/v1.json</c>.
/// </summary>
internal static class ApiDescription
{
    /// <summary>One operation: method, path template, id, summary, query parameters, responses.</summary>
    internal sealed record Operation(string Method, string Path, string Id, string Summary, string[] Query, (string Status, string Description)[] Responses);

    private static readonly (string, string)[] Predicted = [("200", "The handler's answer."), ("400", "Unusable input."), ("404", "Model not found."), ("413", "Request larger than max_request_size."), ("500", "The handler failed, or its answer exceeded max_response_size."), ("503", "The model's queue is full."), ("504", "The model did not answer within its responseTimeout.")];
    private static readonly (string, string)[] Managed = [("200", "Done."), ("400", "Bad request."), ("404", "Model or version not found."), ("405", "The model API is off (enable_model_api)."), ("409", "Conflict."), ("500", "Internal Server Error.")];
    private static readonly (string, string)[] Described = [("200", "An OpenAPI 3.0.1 description.")];

    /// <summary>The operations of the inference API.</summary>
    public static IReadOnlyList<Operation> Inference { get; } =
    [
        new("OPTIONS", "/", "apiDescription", "Get openapi description.", [], Described),
        new("GET", "/api-description", "api-description", "Get openapi description (deprecated: use OPTIONS /).", [], Described),
        new("GET", "/ping", "ping", "Get the server's status: {\"status\": \"Healthy\"} once every start model is loaded, Unhealthy while a model cannot serve its minWorkers.", [],
            [("200", "Healthy."), ("500", "Unhealthy: a model failed to load or lacks its minWorkers."), ("503", "Starting: the start models are loading.")]),
        new("POST", "/predictions/{model_name}", "predictions", "Predictions entry point to get inference using default model version.", [], Predicted),
        new("PUT", "/predictions/{model_name}", "predictions_put", "Predictions entry point (PUT, as curl -T sends).", [], Predicted),
        new("POST", "/predictions/{model_name}/{model_version}", "version_predictions", "Predictions entry point to get inference using specific model version.", [], Predicted),
        new("POST", "/explanations/{model_name}", "explanations", "Explanations entry point (handlers with an [Explain] stage).", [], Predicted),
        new("POST", "/explanations/{model_name}/{model_version}", "version_explanations", "Explanations with a specific model version.", [], Predicted),
        new("GET", "/v2/health/ready", "v2_ready", "Open Inference Protocol v2: server readiness.", [], [("200", "Readiness.")]),
        new("GET", "/v2/health/live", "v2_live", "Open Inference Protocol v2: server liveness.", [], [("200", "Liveness.")]),
        new("GET", "/v2/models/{model_name}", "v2_metadata", "Open Inference Protocol v2: model metadata.", [], [("200", "Metadata."), ("404", "Model not found.")]),
        new("POST", "/v2/models/{model_name}/infer", "v2_infer", "Open Inference Protocol v2: inference.", [], Predicted),
        new("POST", "/v2/models/{model_name}/versions/{model_version}/infer", "v2_version_infer", "Open Inference Protocol v2: inference with a specific model version.", [], Predicted),
        new("POST", "/v2/models/{model_name}/explain", "v2_explain", "Open Inference Protocol v2: explanation (handlers with an [Explain] stage).", [], Predicted),
        new("POST", "/v2/models/{model_name}/versions/{model_version}/explain", "v2_version_explain", "Open Inference Protocol v2: explanation with a specific model version.", [], Predicted),
    ];

    /// <summary>The operations of the management API.</summary>
    public static IReadOnlyList<Operation> Management { get; } =
    [
        new("OPTIONS", "/", "apiDescription", "Get openapi description.", [], Described),
        new("GET", "/api-description", "api-description", "Get openapi description (deprecated: use OPTIONS /).", [], Described),
        new("GET", "/models", "listModels", "List registered models.", ["limit", "next_page_token"], Managed),
        new("POST", "/models", "registerModel", "Register a new model (enable_model_api=true).", ["url", "model_name", "handler", "runtime", "batch_size", "max_batch_delay", "initial_workers", "synchronous", "response_timeout", "startup_timeout"], Managed),
        new("GET", "/models/{model_name}", "describeModel", "Provides detailed information about the default version of a model.", [], Managed),
        new("PUT", "/models/{model_name}", "setAutoScale", "Configure number of workers for a default version of a model.", ["min_worker", "max_worker", "synchronous"], Managed),
        new("DELETE", "/models/{model_name}", "unregisterModel", "Unregister the default version of a model (enable_model_api=true).", [], Managed),
        new("GET", "/models/{model_name}/{model_version}", "version_describeModel", "Provides detailed information about the specified version of a model; 'all' for every version.", [], Managed),
        new("PUT", "/models/{model_name}/{model_version}", "version_setAutoScale", "Configure number of workers for a specified version of a model.", ["min_worker", "max_worker", "synchronous"], Managed),
        new("DELETE", "/models/{model_name}/{model_version}", "version_unregisterModel", "Unregister the specified version of a model (enable_model_api=true).", [], Managed),
        new("PUT", "/models/{model_name}/{model_version}/set-default", "setDefault", "Set the default version of a model.", [], Managed),
    ];

    /// <summary>
    /// Maps <c>OPTIONS /</c> and <c>GET /api-description</c>: one route for every listener (two
    /// would be ambiguous), answering with the description of the listener's API, and 404 on the
    /// metrics listener, which TorchServe does not describe.
    /// </summary>
    public static void MapApiDescriptions(this IEndpointRouteBuilder endpoints, ListenerApis listeners)
    {
        var inference = Build(Inference);
        var management = Build(Management);
        RequestDelegate write = context =>
        {
            var document = listeners.Of(context) switch
            {
                ServeApi.Inference => inference,
                ServeApi.Management => management,
                _ => null,
            };
            if (document is null)
            {
                return TorchServeErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ResourceNotFoundException", "Requested resource is not found, please refer to API document.");
            }
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = document.Length;
            return context.Response.Body.WriteAsync(document, context.RequestAborted).AsTask();
        };
        endpoints.MapMethods("/", ["OPTIONS"], write);
        endpoints.MapGet("/api-description", write);
    }

    /// <summary>The OpenAPI 3.0.1 document of <paramref name="operations"/>, as UTF-8 JSON.</summary>
    public static byte[] Build(IReadOnlyList<Operation> operations)
    {
        var buffer = new ArrayBufferWriter<byte>(8192);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("openapi", "3.0.1");
            w.WriteStartObject("info");
            w.WriteString("title", "TorchServe APIs");
            w.WriteString("description", "The REST APIs of TorchServe, as Serve answers them.");
            w.WriteString("version", typeof(ApiDescription).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");
            w.WriteEndObject();
            w.WriteStartObject("paths");
            foreach (var path in operations.GroupBy(operation => operation.Path))
            {
                w.WriteStartObject(path.Key);
                foreach (var operation in path)
                {
                    WriteOperation(w, operation);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteOperation(Utf8JsonWriter w, Operation operation)
    {
        w.WriteStartObject(operation.Method.ToLowerInvariant());
        w.WriteString("operationId", operation.Id);
        w.WriteString("description", operation.Summary);
        if (operation.Id == "api-description")
        {
            w.WriteBoolean("deprecated", true);
        }
        w.WriteStartArray("parameters");
        var pathParameters = operation.Path.Split('/').Where(segment => segment.StartsWith('{')).Select(segment => segment.Trim('{', '}'));
        foreach (var (name, location) in pathParameters.Select(name => (name, "path")).Concat(operation.Query.Select(name => (name, "query"))))
        {
            w.WriteStartObject();
            w.WriteString("in", location);
            w.WriteString("name", name);
            w.WriteBoolean("required", location == "path");
            w.WriteStartObject("schema");
            w.WriteString("type", "string");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("responses");
        foreach (var (status, description) in operation.Responses)
        {
            w.WriteStartObject(status);
            w.WriteString("description", description);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
