using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Serve.TorchServe.Http;

/// <summary>Endpoint metadata: which API (and so which listener) an endpoint belongs to.</summary>
internal sealed record ServeApiMetadata(ServeApi Api);

/// <summary>
/// The listeners' ports and the API each serves. An endpoint is reachable only on its own API's
/// listener: the management API bound to 127.0.0.1 stays unreachable through an inference
/// listener bound to 0.0.0.0, whatever Host header a client sends.
/// </summary>
internal sealed class ListenerApis(IReadOnlyDictionary<int, ServeApi> byPort)
{
    /// <summary>The API of the listener the request arrived on; inference for a port not configured.</summary>
    public ServeApi Of(HttpContext context) =>
        byPort.TryGetValue(context.Connection.LocalPort, out var api) ? api : ServeApi.Inference;

    /// <summary>Middleware (after routing): an endpoint of another API's listener is answered 404, as an unknown path.</summary>
    public Task Separate(HttpContext context, RequestDelegate next)
    {
        var endpointApi = context.GetEndpoint()?.Metadata.GetMetadata<ServeApiMetadata>()?.Api;
        if (endpointApi is { } api && api != Of(context))
        {
            context.SetEndpoint(null);
            return TorchServeErrors.WriteAsync(context, StatusCodes.Status404NotFound, "ResourceNotFoundException", $"Requested resource is not found, please refer to API document.");
        }
        return next(context);
    }

    /// <summary>The ports of one API.</summary>
    public IEnumerable<int> PortsOf(ServeApi api) => byPort.Where(pair => pair.Value == api).Select(pair => pair.Key);
}
