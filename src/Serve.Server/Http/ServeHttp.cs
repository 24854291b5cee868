using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// The request delegates behind the generated endpoints: read the body, queue it for the
/// model's worker, write its result. Errors are TorchServe's JSON: <c>{"code", "type", "message"}</c>.
/// </summary>
public static class ServeHttp
{
    /// <summary><c>GET /ping</c>: <c>{"status": "Healthy"}</c> once every configured model is loaded.</summary>
    public static Task PingAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<ServeOptions>>().Value;
        var models = httpContext.RequestServices.GetRequiredService<ModelRegistry>();
        var healthy = models.Models.Count >= options.Models.Count;
        httpContext.Response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status500InternalServerError;
        httpContext.Response.ContentType = InferenceResult.JsonContentType;
        return httpContext.Response.WriteAsync(healthy ? "{\"status\":\"Healthy\"}" : "{\"status\":\"Unhealthy\"}");
    }

    /// <summary><c>POST /predictions/{model}</c>.</summary>
    public static Task PredictAsync(HttpContext httpContext, string modelName) => RunAsync(httpContext, AsSpelled(httpContext, modelName), explain: false);

    /// <summary><c>POST /explanations/{model}</c>.</summary>
    public static Task ExplainAsync(HttpContext httpContext, string modelName) => RunAsync(httpContext, AsSpelled(httpContext, modelName), explain: true);

    /// <summary><c>POST /predictions/{model}</c> for a model named in the route.</summary>
    public static Task PredictByRouteAsync(HttpContext httpContext) => RunAsync(httpContext, ModelFromRoute(httpContext), explain: false);

    /// <summary><c>POST /explanations/{model}</c> for a model named in the route.</summary>
    public static Task ExplainByRouteAsync(HttpContext httpContext) => RunAsync(httpContext, ModelFromRoute(httpContext), explain: true);

    /// <summary>
    /// Model names are case-sensitive everywhere, as in TorchServe, but routing matches a literal
    /// segment such as /predictions/digits ignoring case: take the name as the client spelled it.
    /// </summary>
    private static string AsSpelled(HttpContext httpContext, string modelName)
    {
        var segments = (httpContext.Request.Path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length >= 2 && string.Equals(segments[1], modelName, StringComparison.OrdinalIgnoreCase) ? segments[1] : modelName;
    }

    private static string ModelFromRoute(HttpContext httpContext) => httpContext.Request.RouteValues["model"] as string ?? "";

    private static async Task RunAsync(HttpContext httpContext, string modelName, bool explain)
    {
        var services = httpContext.RequestServices;
        if (!services.GetRequiredService<ModelRegistry>().TryGet(modelName, out var model))
        {
            await WriteAsync(httpContext, InferenceResult.Error(404, "ModelNotFoundException", $"Model not found: {modelName}")).ConfigureAwait(false);
            return;
        }
        if (explain && !model.Worker.CanExplain)
        {
            await WriteAsync(httpContext, InferenceResult.Error(501, "NotImplementedException", $"The handler of model '{modelName}' has no [Explain] stage.")).ConfigureAwait(false);
            return;
        }

        var options = services.GetRequiredService<IOptions<ServeOptions>>().Value;
        var body = await RequestBody.ReadAsync(httpContext.Request, options.MaxRequestSize,
            new FormLimits(options.MaxFormParts, options.MaxFormPartHeaderSize), httpContext.RequestAborted).ConfigureAwait(false);
        if (body.Error is { } error)
        {
            await WriteAsync(httpContext, InferenceResult.Error(error.StatusCode, error.Type, error.Message)).ConfigureAwait(false);
            return;
        }

        var request = new InferenceRequest(body.Bytes, httpContext.Request.ContentType, Headers(httpContext.Request), Query(httpContext.Request));
        if (!model.Worker.TryEnqueue(request, explain, out var pending))
        {
            httpContext.Response.Headers.RetryAfter = "1";
            await WriteAsync(httpContext, InferenceResult.Error(503, "ServiceUnavailableException",
                $"Model '{modelName}' has a full queue ({model.Context.ModelConfig.JobQueueSize} requests); try again later.")).ConfigureAwait(false);
            return;
        }

        InferenceResult result;
        try
        {
            result = await pending.WaitAsync(httpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            return; // The client left; the batch goes on without it.
        }
        await WriteAsync(httpContext, result).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext httpContext, InferenceResult result)
    {
        var response = httpContext.Response;
        response.StatusCode = result.StatusCode;
        response.ContentType = result.ContentType;
        response.ContentLength = result.Body.Length;
        return response.Body.WriteAsync(result.Body, httpContext.RequestAborted).AsTask();
    }

    private static Dictionary<string, string> Headers(HttpRequest request)
    {
        var headers = new Dictionary<string, string>(request.Headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
        }
        return headers;
    }

    private static Dictionary<string, string> Query(HttpRequest request)
    {
        var query = new Dictionary<string, string>(request.Query.Count, StringComparer.Ordinal);
        foreach (var (name, values) in request.Query)
        {
            query[name] = values.Count > 0 ? values[^1] ?? "" : "";
        }
        return query;
    }
}
