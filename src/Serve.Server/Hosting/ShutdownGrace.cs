using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Serve.Server;

/// <summary>
/// What a request sent just after SIGTERM gets: an answer, never a connection closed under it.
/// Kestrel, once told to stop, closes idle keep-alive connections at once, so a request a client
/// sends on one at that moment is lost. This service runs its grace in <see cref="StoppingAsync"/>,
/// which the host calls before any hosted service's StopAsync (the web server is registered last,
/// so it would otherwise stop first): it keeps serving,
/// answers every request with <c>Connection: close</c> so clients move off their kept-alive
/// connections, and lets Kestrel stop once no request has arrived for 250 ms or
/// <see cref="ServeOptions.ShutdownGracePeriod"/> has passed. Models are drained after it.
/// </summary>
internal sealed class ShutdownGrace(IOptions<ServeOptions> options, TimeProvider time) : IHostedLifecycleService, IStartupFilter
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(250);
    private volatile bool _stopping;
    private int _inFlight;
    private long _lastArrival;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        var started = time.GetTimestamp();
        var grace = options.Value.ShutdownGracePeriod;
        while (time.GetElapsedTime(started) < grace && !cancellationToken.IsCancellationRequested)
        {
            if (Volatile.Read(ref _inFlight) == 0 && time.GetElapsedTime(Volatile.Read(ref _lastArrival)) >= Quiet && time.GetElapsedTime(started) >= Quiet)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(25), time, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(TrackAsync);
        next(app);
    };

    private async Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        Volatile.Write(ref _lastArrival, time.GetTimestamp());
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (_stopping)
            {
                context.Response.Headers.Connection = "close";
            }
            else
            {
                context.Response.OnStarting(static state =>
                {
                    var (grace, response) = ((ShutdownGrace, HttpResponse))state;
                    if (grace._stopping)
                    {
                        response.Headers.Connection = "close"; // stopping began while this request ran
                    }
                    return Task.CompletedTask;
                }, (this, context.Response));
            }
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
