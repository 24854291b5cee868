using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Serve.Runtime;
using Serve.Server.Metrics;

namespace Serve.Server.Connections;

/// <summary>
/// Caps open connections. One over the cap is answered at once with a 503, <c>Retry-After</c>
/// and the JSON error body, then closed: a load balancer or client sees "busy, retry", not a
/// reset. Kestrel's own MaxConcurrentConnections is set a little above this cap (the refusal
/// room), and <see cref="AcceptGate"/> accepts no more than that, so the rest wait in the backlog.
/// </summary>
internal sealed class ConnectionCap(long cap, IMeterFactory? meters)
{
    /// <summary>Room above the cap for connections being answered 503: an eighth of it, 1 to 32.</summary>
    public long RefusalRoom => Math.Clamp(Cap / 8, 1, 32);

    private static readonly HostInstrument<Counter<long>> RefusedConnections = new(HandlerMetrics.MeterName, meter => meter.CreateCounter<long>(
        "RefusedConnections", unit: "{connection}", description: "Connections answered 503 because the server holds as many as its cap"));

    private readonly Counter<long> _refused = RefusedConnections.For(meters);

    private static readonly byte[] Answer = BuildAnswer();

    private long _open;

    public long Cap { get; } = cap;

    public ConnectionDelegate Use(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > Cap)
        {
            try
            {
                _refused.Add(1);
                await RefuseAsync(connection).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
            return;
        }
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    private static async Task RefuseAsync(ConnectionContext connection)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
        try
        {
            // Read what the client sent first (briefly): closing with unread input would reset the
            // connection and could destroy the answer before the client reads it.
            var read = await connection.Transport.Input.ReadAsync(timeout.Token).ConfigureAwait(false);
            connection.Transport.Input.AdvanceTo(read.Buffer.End);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is ConnectionResetException or System.IO.IOException or InvalidOperationException)
        {
            return;
        }
        try
        {
            await connection.Transport.Output.WriteAsync(Answer, timeout.Token).ConfigureAwait(false);
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or System.IO.IOException or InvalidOperationException)
        {
        }
    }

    private static byte[] BuildAnswer()
    {
        var body = Serve.Server.Http.TorchServeErrorBody.Json(503, "ServiceUnavailableException",
            "The server holds as many connections as it allows (Kestrel:Limits:MaxConcurrentConnections); try again later.").ToArray();
        var head = Encoding.ASCII.GetBytes(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\n" +
            $"Content-Length: {body.Length}\r\n\r\n");
        var answer = new List<byte>(head.Length + body.Length);
        answer.AddRange(head);
        answer.AddRange(body);
        return answer.ToArray();
    }
}
