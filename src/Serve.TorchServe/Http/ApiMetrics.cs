using System;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's API status and session metrics under its names and labels (ts/configs/metrics.yaml):
/// <c>Requests2XX</c>, <c>Requests4XX</c>, <c>Requests5XX</c> count every answer on every listener
/// by status class (labels Level=Host, Hostname), as TorchServe counts each response it sends;
/// <c>OpenSessions</c> (label hostname) is the number of connections open now.
/// </summary>
internal static class ApiMetrics
{
    private static readonly Meter Meter = new(InferenceMetrics.MeterName);
    private static readonly Counter<long> Requests2XX = Meter.CreateCounter<long>("Requests2XX", "Count", "Requests answered with a 2xx status.");
    private static readonly Counter<long> Requests4XX = Meter.CreateCounter<long>("Requests4XX", "Count", "Requests answered with a 4xx status.");
    private static readonly Counter<long> Requests5XX = Meter.CreateCounter<long>("Requests5XX", "Count", "Requests answered with a 5xx status.");
    private static readonly UpDownCounter<long> OpenSessions = Meter.CreateUpDownCounter<long>("OpenSessions", "Count", "Connections open now.");
    private static readonly TagList HostTags = new() { { "Level", "Host" }, { "Hostname", Environment.MachineName } };
    private static readonly TagList SessionTags = new() { { "hostname", Environment.MachineName } };

    /// <summary>Middleware: counts the request by the status class it was answered with.</summary>
    public static async Task CountStatus(HttpContext context, RequestDelegate next)
    {
        var status = StatusCodes.Status500InternalServerError; // what the server answers when an exception escapes
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            var counter = status switch
            {
                >= 200 and < 300 => Requests2XX,
                >= 400 and < 500 => Requests4XX,
                >= 500 => Requests5XX,
                _ => null,
            };
            counter?.Add(1, HostTags);
        }
    }

    /// <summary>Connection middleware: counts the connection as open until it closes.</summary>
    public static ConnectionDelegate CountSessions(ConnectionDelegate next) => async connection =>
    {
        OpenSessions.Add(1, SessionTags);
        try
        {
            await next(connection);
        }
        finally
        {
            OpenSessions.Add(-1, SessionTags);
        }
    };
}
