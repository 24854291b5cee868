using System;
using System.Collections.Generic;
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
        workDirectory ??= Path.Combine(Path.GetTempPath(), $"serve-{Environment.ProcessId}");
        var start = new List<(ModelOptions Options, string Url)>();
        foreach (var model in models)
        {
            var file = Path.GetFileName(model.Path);
            var total = ModelArchiveReader.DeclaredUnpackedSize(model.Path);
            var of = total is { } bytes ? $" of {Megabytes(bytes)} MB" : "";
            progress.WriteLine($"Unpacking {file}{(total is null ? "" : $" ({Megabytes(total.Value)} MB)")} ...");
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var lastReported = 0L;
            var written = 0L;
            UnpackedArchive archive;
            try
            {
                archive = ModelArchiveReader.Open(model.Path, workDirectory, config.ExtractionLimits, new InlineProgress(bytes =>
                {
                    written = bytes;
                    if (bytes - lastReported >= 64L << 20)
                    {
                        lastReported = bytes;
                        progress.WriteLine($"  {file}: {Megabytes(bytes)}{of} MB unpacked");
                    }
                }));
            }
            catch (ModelArchiveException e)
            {
                // One broken archive must not keep the others from serving: the model manager reports it as failed.
                progress.WriteLine($"{file} cannot be served: {e.Message}");
                var failed = model.Name ?? ArchiveStem(file);
                start.Add((new ModelOptions { Name = failed, Path = model.Path, Failure = e.Message }, file));
                continue;
            }
            if (written > 0)
            {
                progress.WriteLine($"Unpacked {file}: {Megabytes(written)} MB in {(long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds} ms");
            }
            var name = model.Name ?? archive.Manifest.ModelName;
            start.Add((new ModelOptions
            {
                Name = name,
                Path = archive.Directory,
                Handler = ManifestHandler.RegisteredName(archive.Manifest.Handler ?? name),
                // As TorchServe's initModelStore: the defaults apply where the archive's model-config is silent.
                ResponseTimeout = config.DefaultResponseTimeout,
                InitialWorkers = config.DefaultWorkersPerModel is > 0 and var workers ? workers : null,
            }, Path.GetFileName(model.Path)));
        }

        var builder = WebApplication.CreateSlimBuilder();
        // Below every other source, so appsettings.json and Logging__LogLevel__... variables override it:
        // ASP.NET Core's per-request lines stay off the console (the access log has them).
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
        });
        var ports = new Dictionary<int, ServeApi>();
        builder.WebHost.UseKestrel(kestrel =>
        {
            Listen(kestrel, config.InferenceAddress, ServeApi.Inference, ports, certificate);
            Listen(kestrel, config.ManagementAddress, ServeApi.Management, ports, certificate);
            if (config.EnableMetricsApi)
            {
                Listen(kestrel, config.MetricsAddress, ServeApi.Metrics, ports, certificate);
            }
        });
        builder.Services.AddServe(options =>
        {
            options.MaxRequestSize = config.MaxRequestSize;
            options.MaxResponseSize = config.MaxResponseSize;
            options.Models.AddRange(start.Select(s => s.Options));
        });
        addHandlers(builder.Services);
        var registrations = new ModelRegistrations();
        foreach (var (options, url) in start)
        {
            registrations.Add(options.Name, url, loadedAtStartup: true);
        }
        var listeners = new ListenerApis(ports);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(registrations);
        builder.Services.AddSingleton(new ModelWorkDirectory(workDirectory));
        builder.Services.AddSingleton(listeners);
        builder.Services.AddSingleton<InferenceMetrics>();
        if (accessLog is not null)
        {
            builder.Services.AddSingleton(_ => new AccessLog(accessLog)); // made by the container, so disposed (flushed) with it
        }
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(HandlerMetrics.MeterName, InferenceMetrics.MeterName, QueueMetrics.MeterName)
            .AddMeter(config.DisableSystemMetrics ? [] : [SystemMetrics.MeterName])
            .AddPrometheusExporter(prometheus =>
            {
                // TorchServe's names as they are: no unit or _total added by the exporter.
                prometheus.TranslationStrategy = PrometheusAspNetCoreTranslationStrategy.UnderscoreEscapingWithoutSuffixes;
                prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
            }));

        var app = builder.Build();
        if (app.Services.GetService<AccessLog>() is { } log)
        {
            app.Use(log.Write);
        }
        app.Use(ApiMetrics.CountStatus);
        app.UseRouting();
        app.Use(listeners.Separate);
        app.Use(app.Services.GetRequiredService<InferenceMetrics>().Measure);
        if (!config.DisableTokenAuthorization)
        {
            var keys = new TokenKeys(TimeSpan.FromMinutes(config.TokenExpirationMinutes));
            keyFile = Path.GetFullPath(keyFile ?? KeyFileName);
            keys.WriteKeyFile(keyFile);
            progress.WriteLine($"Token authorization is on: the keys are in {keyFile}.");
            var written = keyFile;
            app.Lifetime.ApplicationStopped.Register(() => File.Delete(written));
            app.UseTokenAuthorization(keys, keyFile, listeners.Of);
        }
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            if (Directory.Exists(workDirectory))
            {
                Directory.Delete(workDirectory, recursive: true);
            }
        });

        var inference = app.MapGroup("").WithMetadata(new ServeApiMetadata(ServeApi.Inference));
        inference.MapTorchServeInference();
        inference.MapOpenInferenceProtocol();
        app.MapGroup("").WithMetadata(new ServeApiMetadata(ServeApi.Management)).MapTorchServeManagement();
        app.MapApiDescriptions(listeners);
        if (config.EnableMetricsApi)
        {
            app.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(new ServeApiMetadata(ServeApi.Metrics));
        }
        return app;
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

    private static void Listen(KestrelServerOptions kestrel, Uri address, ServeApi api, Dictionary<int, ServeApi> ports, X509Certificate2? certificate)
    {
        void Configure(ListenOptions listen)
        {
            listen.Use(ApiMetrics.CountSessions);
            if (address.Scheme == Uri.UriSchemeHttps)
            {
                listen.UseHttps(certificate!);
            }
        }

        if (!ports.TryAdd(address.Port, api))
        {
            throw new ConfigPropertiesException($"The {api} API's address {address} uses port {address.Port}, which the {ports[address.Port]} API already uses: give each API its own port.");
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

    /// <summary>The name a broken archive is reported under: its file name without .mar, .tar.gz or .tgz.</summary>
    private static string ArchiveStem(string file) =>
        file.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ? file[..^7] : Path.GetFileNameWithoutExtension(file);

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
