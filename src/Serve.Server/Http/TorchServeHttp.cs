using System;
using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// The TorchServe REST adapter: <c>GET /ping</c>, <c>POST|PUT /predictions/{model}</c>,
/// <c>POST|PUT /explanations/{model}</c>. A result goes out as its body; an error as
/// TorchServe's JSON: <c>{"code", "type", "message"}</c>.
/// </summary>
public static class TorchServeHttp
{
    // POST, and PUT for TorchServe's documented `curl -T kitten.jpg`.
    private static readonly string[] PostOrPut = ["POST", "PUT"];

    // HEAD too: load balancers probe health with it.
    private static readonly string[] GetOrHead = ["GET", "HEAD"];

    /// <summary>
    /// Maps /ping, the general /predictions/{model} and /explanations/{model} routes, and KServe v1's
    /// /v1/models/{model}:predict and :explain, which TorchServe's inference API serves too (<see cref="KServeV1Http"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapTorchServeInference(this IEndpointRouteBuilder endpoints)
    {
        var models = endpoints.ServiceProvider.GetRequiredService<ModelManager>();
        endpoints.MapMethods("/ping", GetOrHead, new RequestDelegate(PingAsync));
        // Looked up, not bound: a slot per name a client makes up would grow without bound.
        endpoints.MapMethods("/predictions/{model}", PostOrPut, new RequestDelegate(httpContext => InferByNameAsync(httpContext, models, explain: false)));
        endpoints.MapMethods("/explanations/{model}", PostOrPut, new RequestDelegate(httpContext => InferByNameAsync(httpContext, models, explain: true)));
        endpoints.MapMethods("/predictions/{model}/{version}", PostOrPut, new RequestDelegate(httpContext => InferByNameAsync(httpContext, models, explain: false)));
        endpoints.MapMethods("/explanations/{model}/{version}", PostOrPut, new RequestDelegate(httpContext => InferByNameAsync(httpContext, models, explain: true)));
        KServeV1Http.Map(endpoints, models);
        return endpoints;
    }

    /// <summary>
    /// Maps <c>/predictions/{name}</c> (and <c>/explanations/{name}</c>) for a model known at
    /// compile time, bound to its slot once rather than looked up per request.
    /// </summary>
    public static IEndpointConventionBuilder MapTorchServePredictions(this IEndpointRouteBuilder endpoints, string modelName, bool canExplain)
    {
        var models = endpoints.ServiceProvider.GetRequiredService<ModelManager>();
        var slot = models.Slot(modelName);
        if (canExplain)
        {
            endpoints.MapMethods("/explanations/" + modelName, PostOrPut, new RequestDelegate(httpContext => InferBoundAsync(httpContext, slot, models, explain: true)));
        }
        return endpoints.MapMethods("/predictions/" + modelName, PostOrPut, new RequestDelegate(httpContext => InferBoundAsync(httpContext, slot, models, explain: false)));
    }

    /// <summary>
    /// Model names are case-sensitive, as in TorchServe, but routing matches a literal segment
    /// ignoring case: /predictions/DIGITS reaches the route of "digits", and is looked up as spelled.
    /// </summary>
    private static Task InferBoundAsync(HttpContext httpContext, ModelSlot slot, ModelManager models, bool explain)
    {
        var path = httpContext.Request.Path.Value ?? "";
        var spelled = path.AsSpan(path.LastIndexOf('/') + 1);
        if (spelled.SequenceEqual(slot.Name))
        {
            return InferAsync(httpContext, slot.Model, slot.Name, explain);
        }
        var name = spelled.ToString();
        return InferAsync(httpContext, models.TryGet(name, out var model) ? model : null, name, explain);
    }

    /// <summary><c>GET /ping</c>: <c>{"status": "Healthy"}</c> once every configured model is loaded.</summary>
    public static Task PingAsync(HttpContext httpContext)
    {
        var healthy = httpContext.RequestServices.GetRequiredService<ModelManager>().IsReady;
        httpContext.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
        httpContext.Response.ContentType = InferenceResult.JsonContentType;
        return httpContext.Response.WriteAsync(healthy ? "{\"status\":\"Healthy\"}" : "{\"status\":\"Unhealthy\"}");
    }

    /// <summary>A version asked for that is not served is 404 with TorchServe's ModelVersionNotFoundException.</summary>
    private static Task InferByNameAsync(HttpContext httpContext, ModelManager models, bool explain)
    {
        var name = httpContext.Request.RouteValues["model"] as string ?? "";
        var version = httpContext.Request.RouteValues["version"] as string;
        if (version is not null && !models.TryGet(name, version, out _) && models.TryGet(name, out _))
        {
            return WriteErrorAsync(httpContext, StatusCodes.Status404NotFound, "ModelVersionNotFoundException",
                $"Model version: {version} does not exist for model: {name}");
        }
        return InferAsync(httpContext, models.TryGet(name, version, out var model) ? model : null, name, explain);
    }

    private static async Task InferAsync(HttpContext httpContext, ServedModel? model, string name, bool explain)
    {
        if (model is null)
        {
            await WriteAsync(httpContext, InferenceResult.Error(InferenceErrorKind.ModelNotFound, $"Model not found: {name}")).ConfigureAwait(false);
            return;
        }
        if (explain && !model.CanExplain)
        {
            await WriteAsync(httpContext, InferenceResult.Error(InferenceErrorKind.NotSupported, $"The handler of model '{model.Name}' has no [Explain] stage.")).ConfigureAwait(false);
            return;
        }

        var body = await HttpInference.ReadBodyAsync(httpContext).ConfigureAwait(false);
        if (body.Error is { } error)
        {
            await WriteErrorAsync(httpContext, error.StatusCode, error.Type, error.Message).ConfigureAwait(false);
            return;
        }

        InferenceResult result;
        try
        {
            var request = HttpInference.Request(httpContext.Request, body.Bytes, httpContext.Request.ContentType);
            result = await model.InferAsync(request, explain, httpContext.RequestAborted).ConfigureAwait(false);
            // The version found was unregistered meanwhile (while the body was read): the name may be served by another now.
            if (model.IsUnregistered && result.ErrorKind == InferenceErrorKind.ModelNotFound
                && httpContext.RequestServices.GetRequiredService<ModelManager>().TryGet(name, httpContext.Request.RouteValues["version"] as string, out var current)
                && current != model)
            {
                result = await current.InferAsync(request, explain, httpContext.RequestAborted).ConfigureAwait(false);
            }
            result = HttpInference.WithinResponseLimit(httpContext, result, model.Name);
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            return; // The client left; its batch goes on without it.
        }
        await WriteAsync(httpContext, result).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext httpContext, InferenceResult result)
    {
        var response = httpContext.Response;
        if (result.ErrorKind is { } kind)
        {
            HttpInference.AddRetryAfter(response, kind);
            return WriteErrorAsync(httpContext, HttpInference.Status(kind), TypeName(kind), result.ErrorMessage ?? "");
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = result.ContentType;
        response.ContentLength = result.Body.Length;
        return response.Body.WriteAsync(result.Body, httpContext.RequestAborted).AsTask();
    }

    private static Task WriteErrorAsync(HttpContext httpContext, int statusCode, string type, string message)
    {
        var body = ErrorJson(statusCode, type, message);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = InferenceResult.JsonContentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }

    /// <summary>TorchServe's exception names, which its clients match on.</summary>
    internal static string TypeName(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidRequest => "InvalidRequestException",
        InferenceErrorKind.RequestTooLarge => "RequestTooLargeException",
        InferenceErrorKind.ModelNotFound => "ModelNotFoundException",
        InferenceErrorKind.NotSupported => "NotImplementedException",
        InferenceErrorKind.Unavailable => "ServiceUnavailableException",
        InferenceErrorKind.Timeout => "RequestTimeoutException",
        _ => "InternalServerException",
    };

    /// <summary>TorchServe's error body: <c>{"code", "type", "message"}</c>.</summary>
    internal static ReadOnlyMemory<byte> ErrorJson(int code, string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        // Relaxed escaping keeps messages readable ("model's", not "model\u0027s"); this is an HTTP body, not HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", code);
            writer.WriteString("type", type);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}
