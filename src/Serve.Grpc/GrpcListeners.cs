using System;
using System.IO;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading;
using System.Threading.Tasks;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serve.Server;
using Serve.TorchServe;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's two gRPC listeners, started with the server once its models are loaded:
/// <c>grpc_inference_port</c> (TorchServe's InferenceAPIsService, and the Open Inference
/// Protocol's GRPCInferenceService under TorchServe's package name and KServe's) and
/// <c>grpc_management_port</c> (ManagementAPIsService), on <c>grpc_inference_address</c> /
/// <c>grpc_management_address</c>, HTTP/2, TLS with <c>enable_grpc_ssl</c>. They run as a Kestrel
/// server of their own, so that the REST listeners' middleware (its 401 JSON bodies, its routes)
/// never sees a gRPC call; both serve the same models.
/// </summary>
public sealed class GrpcListeners(IServiceProvider services) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;
    private ListenOptions? _inference;
    private ListenOptions? _management;

    /// <summary>Where the inference listener is bound (the port chosen when 0 was asked for); null before start.</summary>
    public IPEndPoint? InferenceEndPoint => _app is null ? null : _inference?.IPEndPoint;

    /// <summary>Where the management listener is bound; null before start.</summary>
    public IPEndPoint? ManagementEndPoint => _app is null ? null : _management?.IPEndPoint;

    /// <summary>Binds both listeners and starts serving.</summary>
    /// <exception cref="IOException">A port is taken, or is also a REST listener's port.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = services.GetRequiredService<TorchServeConfig>();
        CheckPorts(config);
        var certificate = config.EnableGrpcSsl ? ListenerCertificate.Load(config) : null;

        var builder = WebApplication.CreateSlimBuilder();
        // One log for the whole server, and the server's lifetime (Ctrl+C, SIGTERM) rules this one.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(services.GetRequiredService<ILoggerFactory>());
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();
        builder.WebHost.UseKestrel(kestrel =>
        {
            _inference = Listen(kestrel, config.GrpcInferenceAddress, config.GrpcInferencePort, ServeApi.Inference, certificate);
            _management = Listen(kestrel, config.GrpcManagementAddress, config.GrpcManagementPort, ServeApi.Management, certificate);
        });

        var options = services.GetRequiredService<IOptions<ServeOptions>>();
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(services.GetRequiredService<ModelManager>());
        builder.Services.AddSingleton(services.GetRequiredService<InferencePipeline>());
        builder.Services.AddSingleton(services.GetRequiredService<ModelManagement>());
        builder.Services.AddSingleton(new ListenerGate(services.GetService<TokenKeys>()));
        builder.Services.AddSingleton<TorchServeInferenceService>();
        builder.Services.AddSingleton<TorchServeManagementService>();
        builder.Services.AddSingleton<OpenInferenceService>();
        builder.Services.AddSingleton<IServiceMethodProvider<OpenInferenceService>, KServePackageMethods>();
        builder.Services.AddGrpc(grpc =>
        {
            // TorchServe's maxInboundMessageSize: a larger request is RESOURCE_EXHAUSTED. Answers are
            // bounded by max_response_size in the pipeline, with the REST APIs' message.
            grpc.MaxReceiveMessageSize = (int)Math.Min(options.Value.MaxRequestSize, int.MaxValue);
            grpc.Interceptors.Add<ListenerGate>();
        });

        var app = builder.Build();
        // The server's access log takes gRPC calls too, in TorchServe's form.
        TorchServeHost.UseAccessLog(app, services);
        app.MapGrpcService<TorchServeInferenceService>();
        app.MapGrpcService<OpenInferenceService>();
        app.MapGrpcService<TorchServeManagementService>();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _app = app;
    }

    /// <summary>Stops taking calls; calls in flight finish within the host's shutdown timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Releases the listeners' server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void CheckPorts(TorchServeConfig config)
    {
        foreach (var (key, port) in new[] { ("grpc_inference_port", config.GrpcInferencePort), ("grpc_management_port", config.GrpcManagementPort) })
        {
            if (port == 0)
            {
                continue;
            }
            foreach (var (other, address) in new[] { ("inference_address", config.InferenceAddress), ("management_address", config.ManagementAddress), ("metrics_address", config.MetricsAddress) })
            {
                if (address.Port == port)
                {
                    throw new IOException($"{key}={port} is also the port of {other} ({address}): give each API its own port.");
                }
            }
        }
        if (config.GrpcInferencePort != 0 && config.GrpcInferencePort == config.GrpcManagementPort)
        {
            throw new IOException($"grpc_inference_port and grpc_management_port are both {config.GrpcInferencePort}: give each API its own port.");
        }
    }

    private static ListenOptions Listen(KestrelServerOptions kestrel, string address, int port, ServeApi api, X509Certificate2? certificate)
    {
        ListenOptions? bound = null;
        void Configure(ListenOptions listen)
        {
            bound ??= listen;
            // Without TLS a client can only speak HTTP/2 to a listener that speaks nothing else (no ALPN to agree on it).
            listen.Protocols = certificate is null ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2;
            listen.Use(next => connection =>
            {
                connection.Items[ListenerGate.ListenerApiItem] = api;
                return next(connection);
            });
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }

        if (address == "localhost")
        {
            kestrel.ListenLocalhost(port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(address), port, Configure);
        }
        return bound!;
    }

    /// <summary>The listeners start and stop with the server that owns them, not on signals of their own.</summary>
    private sealed class OwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
