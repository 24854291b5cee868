using System.Collections.Generic;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Runtime;
using Serve.Server.Metrics;

namespace Serve.Server.Http;

/// <summary>
/// Client misbehaviour (a body cut off, sent too slowly, badly framed; a malformed request): one
/// debug line per event and a count on the <c>ClientErrors</c> counter, tagged by reason and
/// status. These are not server faults, so no error level and no stack trace: a slowloris of
/// thousands of connections must not bury the log.
/// </summary>
internal static partial class ClientErrors
{
    private static readonly HostInstrument<Counter<long>> Counter = new(HandlerMetrics.MeterName, meter => meter.CreateCounter<long>("ClientErrors", unit: "{request}",
        description: "Requests refused because the client misbehaved (reason: body, aborted, request, route)"));

    public static void Record(HttpContext httpContext, string reason, int statusCode, string message)
    {
        Counter.For(httpContext.RequestServices?.GetService<IMeterFactory>())
            .Add(1, new KeyValuePair<string, object?>("Reason", reason), new KeyValuePair<string, object?>("StatusCode", statusCode));
        var logger = httpContext.RequestServices?.GetService<ILoggerFactory>()?.CreateLogger(typeof(ClientErrors).FullName!);
        if (logger is not null)
        {
            LogClientError(logger, httpContext.Connection.Id, reason, statusCode, message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId}: client error ({Reason}), answered {StatusCode}: {Message}")]
    private static partial void LogClientError(ILogger logger, string connectionId, string reason, int statusCode, string message);
}
