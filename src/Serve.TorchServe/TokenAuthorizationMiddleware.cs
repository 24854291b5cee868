using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Serve.Server.Http;

namespace Serve.TorchServe;

/// <summary>
/// Refuses a request without the right Bearer key with 401, <c>WWW-Authenticate: Bearer</c> and
/// TorchServe's error JSON (TorchServe answers 400; see docs/torchserve-differences.md). The API a
/// request is for comes from the listener it arrived on; the health probes (<c>/ping</c>,
/// <c>/v2/health/live</c>, <c>/v2/health/ready</c>) need no key, so that an orchestrator's probe
/// (Kubernetes' httpGet, which sends no header) works; they tell only whether the server is up. <c>GET /token?type=inference|management</c> on the management listener,
/// with the API key, renews a key and rewrites the key file.
/// </summary>
internal sealed class TokenAuthorizationMiddleware(RequestDelegate next, TokenKeys keys, Func<HttpContext, ServeApi> apiOf, string keyFile)
{
    /// <summary>Checks the request's key, then passes it on.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        var api = apiOf(context);
        var request = context.Request;
        if (api == ServeApi.Inference && IsHealthProbe(request.Path))
        {
            return next(context);
        }
        var authorization = request.Headers.Authorization.ToString();
        if (api == ServeApi.Management && request.Path == "/token" && HttpMethods.IsGet(request.Method))
        {
            return RenewAsync(context, authorization);
        }

        var refusal = keys.Refusal(api, authorization.Length == 0 ? null : authorization);
        return refusal is null ? next(context) : WriteErrorAsync(context, StatusCodes.Status401Unauthorized, refusal);
    }

    private static bool IsHealthProbe(PathString path) =>
        path == "/ping" || path == "/v2/health/live" || path == "/v2/health/ready";

    private Task RenewAsync(HttpContext context, string authorization)
    {
        if (!keys.IsApiKey(authorization))
        {
            return WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "Renewing a key needs the API key from key_file.json: send 'Authorization: Bearer <key>'.");
        }
        var type = context.Request.Query["type"].ToString();
        ServeApi? api = type switch { "inference" => ServeApi.Inference, "management" => ServeApi.Management, _ => null };
        if (api is null)
        {
            return WriteErrorAsync(context, StatusCodes.Status400BadRequest, $"type='{type}': give type=inference or type=management.", "BadRequestException");
        }
        keys.Renew(api.Value);
        keys.WriteKeyFile(keyFile);
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($"{{\"message\": \"The {type} key was renewed; read it from key_file.json.\"}}");
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message, string type = "TokenAuthorizationException") =>
        TorchServeErrorBody.WriteAsync(context, status, type, message);
}
