using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

/// <summary>
/// A real Kestrel on 127.0.0.1 with small, configured limits (Kestrel's through its
/// configuration keys), a log that records every entry, and one route that throws.
/// </summary>
public sealed class LimitsServer : IAsyncLifetime
{
    public const int MaxRequestSize = 64 * 1024;
    public const int KestrelMaxRequestBodySize = 128 * 1024;

    private readonly string _directory = Directory.CreateTempSubdirectory("serve-limits-").FullName;
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public Uri Address => _host!.Address;

    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Log { get; } = new();

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "model-config.yaml"), "batchSize: 4\n");
        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Limits:MaxRequestBodySize"] = KestrelMaxRequestBodySize.ToString(),
            ["Kestrel:Limits:MaxRequestLineSize"] = "2048",
            ["Kestrel:Limits:MaxRequestHeadersTotalSize"] = "8192",
            ["Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond"] = "240",
            ["Kestrel:Limits:MinRequestBodyDataRate:GracePeriod"] = "00:00:01.5",
            ["Kestrel:Limits:MaxConcurrentConnections"] = "50",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(new RecordingLoggerProvider(Log));
        builder.Services
            .AddServe(options =>
            {
                options.MaxRequestSize = MaxRequestSize;
                options.Models.Add(new ModelOptions { Name = "echo", Path = _directory });
                options.Models.Add(new ModelOptions { Name = "Echo-copy", Path = _directory, Handler = "echo" });
            })
            .AddServeHandlers();

        _host = await KestrelTestHost.StartAsync(builder, app =>
        {
            app.MapServeEndpoints();
            app.MapGet("/throws", new RequestDelegate(_ => throw new InvalidOperationException("a server fault")));
        }, TimeSpan.FromSeconds(20));
    }

    public long ConfiguredConnectionCap =>
        _host!.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections ?? -1;

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<(LogLevel, string, string, Exception?)> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, log);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(LogLevel, string, string, Exception?)> log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Enqueue((logLevel, category, formatter(state, exception), exception));
        }
    }
}
