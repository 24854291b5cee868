using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serve.Archives;
using Serve.Runtime;
using Serve.Server;
using Serve.Server.Http;
using Serve.TorchServe.Http;

namespace Serve.TorchServe;

/// <summary>
/// Builds the server a TorchServe operator knows: inference, management and metrics APIs on
/// their own listeners (config.properties' addresses), token authorization unless disabled,
/// and the start models unpacked from the model store.
/// </summary>
public static class TorchServeHost
{
    /// <summary>The file the keys are written to, in the working directory, as TorchServe does.</summary>
    public const string KeyFileName = "key_file.json";

    /// <summary>
    /// Unpacks <paramref name="models"/> (telling <paramref name="progress"/> as it goes) and builds
    /// the app; <paramref name="addHandlers"/> adds the handlers and backends compiled into the app.
    /// </summary>
    /// <exception cref="ModelArchiveException">An archive cannot be opened.</exception>
    /// <param name="config">The settings.</param>
    /// <param name="models">The archives to serve from the start.</param>
    /// <param name="addHandlers">Adds the app's handlers and backends.</param>
    /// <param name="progress">Told what is being unpacked.</param>
    /// <param name="workDirectory">Where archives are unpacked; a fresh temporary directory when null.</param>
    /// <param name="keyFile">Where the keys are written; key_file.json in the working directory when null.</param>
    /// <param name="accessLog">The file each request is logged to, in TorchServe's access_log.log format; none when null.</param>
    public static WebApplication Build(TorchServeConfig config, IReadOnlyList<ModelToLoad> models, Action<IServiceCollection> addHandlers, TextWriter progress, string? workDirectory = null, string? keyFile = null, string? accessLog = null)
    {
        var certificate = config.UsesHttps ? ListenerCertificate.Load(config) : null;
        var provisioning = new ModelProvisioning(config, workDirectory ?? Path.Combine(Path.GetTempPath(), $"serve-{Environment.ProcessId}"), new ModelRegistrations());
        var start = provisioning.Start(models, progress);

        var builder = WebApplication.CreateSlimBuilder();
        // Below every other source, so appsettings.json and Logging__LogLevel__... variables override it:
        // ASP.NET Core's per-request lines stay off the console (the access log has them).
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        builder.Services.AddServe(options =>
        {
            options.MaxRequestSize = config.MaxRequestSize;
            options.MaxResponseSize = config.MaxResponseSize;
            options.Models.AddRange(start);
        });
        // After AddServe: its Kestrel setup sets the endpoint defaults (the connection cap, JSON bodies
        // for Kestrel's own 400/414/431/505 answers) that these listeners take when they are made.
        var listeners = Listen(builder.WebHost, config, certificate);
        addHandlers(builder.Services);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(provisioning);
        builder.Services.AddSingleton(provisioning.Registrations);
        builder.Services.AddSingleton<ModelManagement>();
        builder.Services.AddSingleton(listeners);
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddSingleton<ApiMetrics>();
        if (accessLog is not null)
        {
            builder.Services.AddSingleton(_ => new AccessLog(accessLog)); // made by the container, so disposed (flushed) with it
        }
        AddTelemetry(builder.Services, config);
        // In the container too: the server's other listeners (gRPC, Serve.Grpc) check the same keys.
        var keys = config.DisableTokenAuthorization ? null : new TokenKeys(TimeSpan.FromMinutes(config.TokenExpirationMinutes));
        if (keys is not null)
        {
            builder.Services.AddSingleton(keys);
        }

        var app = builder.Build();
        app.Services.GetService<SystemMetrics>(); // its gauges exist once it is made
        UseMiddleware(app, listeners);
        if (keys is not null)
        {
            UseTokenAuthorization(app, keys, listeners, Path.GetFullPath(keyFile ?? KeyFileName), progress);
        }
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            if (Directory.Exists(provisioning.WorkDirectory))
            {
                Directory.Delete(provisioning.WorkDirectory, recursive: true);
            }
        });
        MapApis(app, config, listeners);
        return app;
    }

    /// <summary>
    /// Metrics in TorchServe's names, scraped from the metrics API; with an <c>otlp_endpoint</c>, traces
    /// too: ASP.NET Core's request activity (which honours the caller's W3C traceparent) and Serve's
    /// spans under it (<see cref="ServeTracing"/>).
    /// </summary>
    private static void AddTelemetry(IServiceCollection services, TorchServeConfig config)
    {
        var telemetry = services.AddOpenTelemetry();
        if (config.OtlpEndpoint is { } endpoint)
        {
            telemetry.ConfigureResource(resource => resource.AddService("serve"))
                .WithTracing(tracing => tracing
                    .AddSource(ServeTracing.SourceName, "Microsoft.AspNetCore")
                    .AddOtlpExporter(otlp =>
                    {
                        otlp.Endpoint = endpoint;
                        otlp.Protocol = endpoint.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    }));
        }
        if (!config.DisableSystemMetrics)
        {
            services.AddSingleton<SystemMetrics>();
        }
        // Only this host's meters: another host in the process (a test's second server) has meters of the same names.
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(OfHost(provider.GetRequiredService<IMeterFactory>())));
        telemetry.WithMetrics(metrics => metrics
            .AddMeter(HandlerMetrics.MeterName, InferenceMetrics.MeterName, QueueMetrics.MeterName)
            .AddMeter(config.DisableSystemMetrics ? [] : [SystemMetrics.MeterName])
            .AddPrometheusExporter(prometheus =>
            {
                // TorchServe's names as they are: no unit or _total added by the exporter.
                prometheus.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
    }

    /// <summary>
    /// The access log (when the server keeps one) for a listener that runs as a server of its own:
    /// the gRPC listeners (Serve.Grpc). <paramref name="server"/> is the main server's services.
    /// </summary>
    public static void UseAccessLog(IApplicationBuilder app, IServiceProvider server)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(server);
        if (server.GetService<AccessLog>() is { } log)
        {
            app.Use(log.Write);
        }
    }

    /// <summary>
    /// Keeps the instruments whose meter the host's <paramref name="host"/> factory scopes: those it
    /// made, and each model's (<see cref="ModelMeters"/>); drops the rest.
    /// </summary>
    private static Func<Instrument, MetricStreamConfiguration?> OfHost(IMeterFactory host) =>
        instrument => ReferenceEquals(instrument.Meter.Scope, host) ? null : MetricStreamConfiguration.Drop;

    /// <summary>Access log, status counts, routing, one API per listener, request metrics: in that order.</summary>
    private static void UseMiddleware(WebApplication app, ListenerApis listeners)
    {
        UseAccessLog(app, app.Services);
        app.Use(app.Services.GetRequiredService<ApiMetrics>().CountStatus);
        app.UseRouting();
        app.Use(listeners.Separate);
        app.Use(app.Services.GetRequiredService<InferenceMetrics>().Measure);
    }

    /// <summary>Writes fresh keys to <paramref name="keyFile"/> (deleted when the server stops) and requires them.</summary>
    private static void UseTokenAuthorization(WebApplication app, TokenKeys keys, ListenerApis listeners, string keyFile, TextWriter progress)
    {
        keys.WriteKeyFile(keyFile);
        progress.WriteLine($"Token authorization is on: the keys are in {keyFile}.");
        app.Lifetime.ApplicationStopped.Register(() => File.Delete(keyFile));
        app.UseTokenAuthorization(keys, keyFile, listeners.Of);
    }

    /// <summary>Inference (TorchServe, KServe v1, Open Inference Protocol), management and metrics, each on its listener.</summary>
    private static void MapApis(WebApplication app, TorchServeConfig config, ListenerApis listeners)
    {
        var inference = app.MapGroup("").WithMetadata(new ServeApiMetadata(ServeApi.Inference));
        inference.MapTorchServeInference();
        inference.MapOpenInferenceProtocol();
        app.MapGroup("").WithMetadata(new ServeApiMetadata(ServeApi.Management)).MapTorchServeManagement();
        app.MapApiDescriptions(listeners);
        if (config.EnableMetricsApi)
        {
            app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new ServeApiMetadata(ServeApi.Metrics));
        }
    }

    /// <summary>
    /// An HTTP handler for asking this server's own inference listener whether it is up: over https
    /// it trusts exactly the configured certificate (which may be self-issued), and nothing else.
    /// </summary>
    public static HttpMessageHandler ReadinessProbeHandler(TorchServeConfig config)
    {
        if (config.InferenceAddress.Scheme != Uri.UriSchemeHttps)
        {
            return new SocketsHttpHandler();
        }
        using var expected = ListenerCertificate.Load(config);
        var thumbprint = expected.GetCertHashString(HashAlgorithmName.SHA256);
        return new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint },
        };
    }

    /// <summary>The inference, management and (when enabled) metrics listeners, each API on its own port.</summary>
    private static ListenerApis Listen(IWebHostBuilder webHost, TorchServeConfig config, X509Certificate2? certificate)
    {
        var ports = new Dictionary<int, ServeApi>();
        // Checked now, not when Kestrel starts: a clash is a configuration error to report before anything runs.
        Claim(ports, config.InferenceAddress, ServeApi.Inference);
        Claim(ports, config.ManagementAddress, ServeApi.Management);
        if (config.EnableMetricsApi)
        {
            Claim(ports, config.MetricsAddress, ServeApi.Metrics);
        }
        webHost.UseKestrel(kestrel =>
        {
            Listen(kestrel, config.InferenceAddress, ServeApi.Inference, certificate);
            Listen(kestrel, config.ManagementAddress, ServeApi.Management, certificate);
            if (config.EnableMetricsApi)
            {
                Listen(kestrel, config.MetricsAddress, ServeApi.Metrics, certificate);
            }
        });
        return new ListenerApis(ports);
    }

    private static void Claim(Dictionary<int, ServeApi> ports, Uri address, ServeApi api)
    {
        if (!ports.TryAdd(address.Port, api))
        {
            throw new ConfigPropertiesException($"The {api} API's address {address} uses port {address.Port}, which the {ports[address.Port]} API already uses: give each API its own port.");
        }
    }

    private static void Listen(KestrelServerOptions kestrel, Uri address, ServeApi api, X509Certificate2? certificate)
    {
        void Configure(ListenOptions listen)
        {
            listen.Use(kestrel.ApplicationServices.GetRequiredService<ApiMetrics>().CountSessions);
            if (address.Scheme == Uri.UriSchemeHttps)
            {
                listen.UseHttps(certificate!);
            }
        }

        if (address.Host is "localhost")
        {
            kestrel.ListenLocalhost(address.Port, Configure);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, Configure);
        }
        else
        {
            throw new ConfigPropertiesException($"The {api} API's address {address} names a host; give an IP address (127.0.0.1, 0.0.0.0) or localhost.");
        }
    }
}
