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
internal sealed class ApiMetrics
{
    private static readonly TagList HostTags = new() { { "Level", "Host" }, { "Hostname", Environment.MachineName } };
    private static readonly TagList SessionTags = new() { { "hostname", Environment.MachineName } };
    private readonly Counter<long> _requests2XX;
    private readonly Counter<long> _requests4XX;
    private readonly Counter<long> _requests5XX;
    private readonly UpDownCounter<long> _openSessions;
    private readonly Action<int> _count;

    /// <summary>The counters on the host's meter <see cref="InferenceMetrics.MeterName"/> of <paramref name="meters"/>.</summary>
    public ApiMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(InferenceMetrics.MeterName);
        _requests2XX = meter.CreateCounter<long>("Requests2XX", "Count", "Requests answered with a 2xx status.");
        _requests4XX = meter.CreateCounter<long>("Requests4XX", "Count", "Requests answered with a 4xx status.");
        _requests5XX = meter.CreateCounter<long>("Requests5XX", "Count", "Requests answered with a 5xx status.");
        _openSessions = meter.CreateUpDownCounter<long>("OpenSessions", "Count", "Connections open now.");
        _count = Count;
    }

    /// <summary>Middleware: counts the request by the status class it is answered with (as the answer starts: <see cref="AnswerStart"/>).</summary>
    public Task CountStatus(HttpContext context, RequestDelegate next) => AnswerStart.Record(context, next, _count);

    private void Count(int status)
    {
        var counter = status switch
        {
            >= 200 and < 300 => _requests2XX,
            >= 400 and < 500 => _requests4XX,
            >= 500 => _requests5XX,
            _ => null,
        };
        counter?.Add(1, HostTags);
    }

    /// <summary>Connection middleware: counts the connection as open until it closes.</summary>
    public ConnectionDelegate CountSessions(ConnectionDelegate next) => async connection =>
    {
        _openSessions.Add(1, SessionTags);
        try
        {
            await next(connection);
        }
        finally
        {
            _openSessions.Add(-1, SessionTags);
        }
    };
}
