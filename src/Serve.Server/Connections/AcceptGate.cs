using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serve.Server.Connections;

/// <summary>
/// Kestrel's socket transport, accepting no more connections than Kestrel's cap allows to be open.
/// Kestrel itself accepts every pending connection and then closes those over its cap, so under a
/// connection flood the sockets being accepted and closed take every descriptor freed, and the
/// runtime, finding none for a thread or a file, aborts. Here a connection over the cap waits in
/// the kernel's backlog, where it costs this process no descriptor, until one closes.
/// </summary>
internal sealed class AcceptGate(IOptions<SocketTransportOptions> socketOptions, IOptions<KestrelServerOptions> kestrelOptions, ILoggerFactory loggerFactory)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketTransportFactory _sockets = new(socketOptions, loggerFactory);

    public bool CanBind(EndPoint endpoint) => _sockets is IConnectionListenerFactorySelector selector ? selector.CanBind(endpoint) : endpoint is IPEndPoint;

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = await _sockets.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        var cap = kestrelOptions.Value.Limits.MaxConcurrentConnections;
        return cap is { } open and > 0 and < int.MaxValue ? new Listener(listener, (int)open) : listener;
    }

    private sealed class Listener(IConnectionListener inner, int maxOpen) : IConnectionListener
    {
        private readonly SemaphoreSlim _open = new(maxOpen, maxOpen);

        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            await _open.WaitAsync(cancellationToken).ConfigureAwait(false);
            ConnectionContext? connection;
            try
            {
                connection = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _open.Release();
                throw;
            }
            if (connection is null)
            {
                _open.Release();
                return null;
            }
            var released = 0;
            connection.ConnectionClosed.Register(() =>
            {
                if (Interlocked.Exchange(ref released, 1) == 0)
                {
                    _open.Release();
                }
            });
            return connection;
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            _open.Dispose();
        }
    }
}
