using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// The TorchServe REST adapter: <c>GET /ping</c>, <c>POST|PUT /predictions/{model}[/{version}]</c>,
/// <c>POST|PUT /explanations/{model}[/{version}]</c>. Each call runs through the
/// <see cref="InferencePipeline"/> with <see cref="TorchServeCodec"/>: the body is the handler's
/// input, a result goes out as its body, an error as TorchServe's JSON (<see cref="TorchServeErrorBody"/>).
/// </summary>
public static class TorchServeHttp
{
    // POST, and PUT for TorchServe's documented `curl -T kitten.jpg`.
    internal static readonly string[] PostOrPut = ["POST", "PUT"];

    // HEAD too: load balancers probe health with it.
    private static readonly string[] GetOrHead = ["GET", "HEAD"];

    /// <summary>
    /// Maps /ping, the general /predictions/{model} and /explanations/{model} routes, and KServe v1's
    /// /v1/models/{model}:predict and :explain, which TorchServe's inference API serves too (<see cref="KServeV1Http"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapTorchServeInference(this IEndpointRouteBuilder endpoints)
    {
        endpoints.ServiceProvider.GetRequiredService<InferencePipeline>(); // fails at startup, not per request, without AddServe()
        endpoints.MapMethods("/ping", GetOrHead, new RequestDelegate(PingAsync));
        // Looked up, not bound: a slot per name a client makes up would grow without bound.
        foreach (var route in new[] { "/predictions/{model}", "/predictions/{model}/{version}" })
        {
            endpoints.MapMethods(route, PostOrPut, new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, TorchServeCodec.Predict)));
        }
        foreach (var route in new[] { "/explanations/{model}", "/explanations/{model}/{version}" })
        {
            endpoints.MapMethods(route, PostOrPut, new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, TorchServeCodec.Explain)));
        }
        KServeV1Http.Map(endpoints);
        return endpoints;
    }

    /// <summary>
    /// <c>GET /ping</c>, TorchServe's: <c>{"status": "Healthy"}</c>, or 500 <c>{"status": "Unhealthy"}</c>
    /// when a model cannot serve its minWorkers (<see cref="ModelManager.IsHealthy"/>). While the
    /// models configured at start load (TorchServe does not listen yet), 503 <c>{"status": "Starting"}</c>.
    /// </summary>
    public static Task PingAsync(HttpContext httpContext)
    {
        var models = httpContext.RequestServices.GetRequiredService<ModelManager>();
        var (code, status) = !models.IsReady ? (StatusCodes.Status503ServiceUnavailable, "Starting")
            : models.IsHealthy ? (StatusCodes.Status200OK, "Healthy")
            : (StatusCodes.Status500InternalServerError, "Unhealthy");
        httpContext.Response.StatusCode = code;
        httpContext.Response.ContentType = InferenceResult.JsonContentType;
        return httpContext.Response.WriteAsync($"{{\"status\":\"{status}\"}}");
    }
}
