using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serve.Server.Http;

namespace Serve.Server.CompilerServices;

/// <summary>
/// The routes generated <c>MapServeEndpoints()</c> binds to each handler of the app, by name;
/// not for code written by hand (<see cref="TorchServeHttp.MapTorchServeInference"/> serves every model).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class HandlerEndpoints
{
    /// <summary>
    /// Maps <c>/predictions/{name}</c> (and <c>/explanations/{name}</c>) for a model known at
    /// compile time. Model names are case-sensitive, as in TorchServe, but routing matches a
    /// literal segment ignoring case: /predictions/DIGITS reaches the route of "digits", and is
    /// looked up as spelled.
    /// </summary>
    public static IEndpointConventionBuilder MapTorchServePredictions(IEndpointRouteBuilder endpoints, string modelName, bool canExplain)
    {
        endpoints.ServiceProvider.GetRequiredService<InferencePipeline>();
        if (canExplain)
        {
            endpoints.MapMethods("/explanations/" + modelName, TorchServeHttp.PostOrPut, new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, TorchServeCodec.ExplainLastSegment)));
        }
        return endpoints.MapMethods("/predictions/" + modelName, TorchServeHttp.PostOrPut, new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, TorchServeCodec.PredictLastSegment)));
    }
}
