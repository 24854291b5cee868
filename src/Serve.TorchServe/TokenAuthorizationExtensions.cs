using System;
using Microsoft.AspNetCore.Http;
using Serve.TorchServe;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds TorchServe's token authorization to a pipeline.</summary>
internal static class TokenAuthorizationExtensions
{
    /// <summary>
    /// Requires the inference or management key, by the API <paramref name="apiOf"/> says a
    /// request is for, and answers <c>GET /token?type=</c> on the management API.
    /// </summary>
    public static IApplicationBuilder UseTokenAuthorization(this IApplicationBuilder app, TokenKeys keys, string keyFile, Func<HttpContext, ServeApi> apiOf) =>
        app.UseMiddleware<TokenAuthorizationMiddleware>(keys, apiOf, keyFile);
}
