using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serve.Archives;
using Serve.Runtime;
using Serve.Server;
using Serve.TorchServe;

namespace Serve.Cli;

/// <summary><c>serve start</c>: torchserve --start's flags; serves until <c>serve stop</c> or Ctrl+C.</summary>
internal static class StartCommand
{
    /// <summary>Set for the background server: the log file it writes its console output to.</summary>
    private const string LogFileVariable = "SERVE_LOG_FILE";

    public static Command Create(Action<IServiceCollection> addHandlers)
    {
        var modelStore = new Option<string?>("--model-store") { Description = "The directory holding model archives (overrides model_store)." };
        var models = new Option<string[]>("--models")
        {
            Description = "Archives to load at start: 'all', FILE.mar or NAME=FILE.mar, relative to the model store (overrides load_models).",
            AllowMultipleArgumentsPerToken = true,
        };
        var tsConfig = new Option<string?>("--ts-config") { Description = "A TorchServe config.properties." };
        var foreground = new Option<bool>("--foreground") { Description = "Stay attached and log to this terminal; without it the server runs in the background." };
        var disableTokenAuth = new Option<bool>("--disable-token-auth") { Description = "Serve without token authorization (as disable_token_authorization=true)." };
        var enableModelApi = new Option<bool>("--enable-model-api") { Description = "Allow registering and unregistering models through the management API (as enable_model_api=true)." };
        var otlpEndpoint = new Option<string?>("--otlp-endpoint")
        {
            Description = "Export traces (one per request: queue wait, preprocess, inference, postprocess) to this OpenTelemetry collector: http://HOST:4317 (gRPC) or http://HOST:4318/v1/traces (overrides otlp_endpoint).",
        };

        var command = new Command("start", "Start the server: inference on :8080, management on :8081, metrics on :8082 (127.0.0.1 unless config.properties says otherwise).")
        {
            modelStore, models, tsConfig, foreground, disableTokenAuth, enableModelApi, otlpEndpoint,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            // A background server writes its own log: the `serve start` that started it exits once it answers.
            if (Environment.GetEnvironmentVariable(LogFileVariable) is { Length: > 0 } logFile)
            {
                // One synchronized writer for all: the console logger writes on its own thread, and two
                // writers over one StreamWriter without a common lock lose lines.
                var log = TextWriter.Synchronized(new StreamWriter(new FileStream(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true });
                Console.SetOut(log);
                Console.SetError(log);
                (output, error) = (log, log);
            }
            TorchServeConfig config;
            IReadOnlyList<ModelToLoad> toLoad;
            try
            {
                // As TorchServe: TS_CONFIG_FILE wins over --ts-config.
                config = (Environment.GetEnvironmentVariable("TS_CONFIG_FILE") ?? parse.GetValue(tsConfig)) is { } path ? TorchServeConfig.Read(path) : new TorchServeConfig();
                config = config with
                {
                    ModelStore = parse.GetValue(modelStore) ?? config.ModelStore,
                    LoadModels = parse.GetValue(models) is { Length: > 0 } given ? string.Join(',', given) : config.LoadModels,
                    DisableTokenAuthorization = config.DisableTokenAuthorization || parse.GetValue(disableTokenAuth),
                    EnableModelApi = config.EnableModelApi || parse.GetValue(enableModelApi),
                    OtlpEndpoint = parse.GetValue(otlpEndpoint) is { } otlp
                        ? TorchServeConfig.OtlpEndpointAddress(otlp, expected => new ConfigPropertiesException($"--otlp-endpoint '{otlp}' is not {expected}."))
                        : config.OtlpEndpoint,
                };
                // With enable_envvars_config=true, TS_<KEY> variables win over the file and the flags, as in TorchServe.
                config = config.WithEnvironment();
                if (config.UsesHttps)
                {
                    ListenerCertificate.Load(config).Dispose(); // a bad certificate or key is told now, not by a child's log
                }
                foreach (var ignored in config.Ignored)
                {
                    error.WriteLine($"serve start: ignoring {ignored}.");
                }
                toLoad = ModelStore.Select(config.ModelStore, config.LoadModels);
            }
            catch (ConfigPropertiesException e)
            {
                error.WriteLine($"serve start: {e.Message}");
                return 1;
            }

            if (!parse.GetValue(foreground))
            {
                return await StartInBackgroundAsync(config, output, error, cancellation);
            }

            WebApplication app;
            try
            {
                // TorchServe's access log, next to its other logs (LOG_LOCATION, else logs/).
                var accessLog = Path.Combine(Environment.GetEnvironmentVariable("LOG_LOCATION") ?? "logs", "access_log.log");
                app = TorchServeHost.Build(config, toLoad, addHandlers, output, accessLog: accessLog);
            }
            catch (Exception e) when (e is ModelArchiveException or ConfigPropertiesException)
            {
                error.WriteLine($"serve start: {e.Message}");
                return 1;
            }
            await using (app)
            {
                if (toLoad.Count > 0)
                {
                    output.WriteLine($"Loading {toLoad.Count} model(s); the log says as each worker initializes and each model is ready ...");
                }
                var loading = Stopwatch.GetTimestamp();
                try
                {
                    await app.StartAsync(cancellation);
                }
                catch (Exception e) when (e is ModelLoadException or IOException)
                {
                    error.WriteLine($"serve start: {e.Message}");
                    return 1;
                }
                // A model that failed to load does not stop the start while others serve: say which, and why
                // (describe, the log and the ts_model_failed gauge say it too). With none served, the start failed.
                var failed = app.Services.GetRequiredService<ModelManager>().Failed();
                foreach (var failure in failed)
                {
                    error.WriteLine($"serve start: model {failure.Name} failed to load and is not served: {failure.Reason}");
                }
                if (toLoad.Count > 0 && failed.Count >= toLoad.Count)
                {
                    error.WriteLine("serve start: no model could be served; stopping.");
                    await app.StopAsync(CancellationToken.None);
                    return 1;
                }
                PidFile.Write();
                output.WriteLine($"Serving {toLoad.Count - failed.Count} model(s){(failed.Count > 0 ? $" ({failed.Count} failed)" : "")}, loaded in {(long)Stopwatch.GetElapsedTime(loading).TotalMilliseconds} ms: inference {config.InferenceAddress}, management {config.ManagementAddress}, metrics {config.MetricsAddress}.");
                try
                {
                    await app.WaitForShutdownAsync(cancellation);
                }
                finally
                {
                    PidFile.Delete();
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Runs this same command with --foreground as a child, logging to logs/serve.log, and waits until it answers /ping.</summary>
    private static async Task<int> StartInBackgroundAsync(TorchServeConfig config, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        Directory.CreateDirectory("logs");
        var log = Path.GetFullPath("logs/serve.log");
        var self = Environment.GetCommandLineArgs();
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // `dotnet serve.dll start ...` is started again as `dotnet serve.dll start ... --foreground`.
        if (!string.Equals(Path.GetFileNameWithoutExtension(Environment.ProcessPath), Path.GetFileNameWithoutExtension(self[0]), StringComparison.Ordinal))
        {
            start.ArgumentList.Add(self[0]);
        }
        start.Environment[LogFileVariable] = log;
        foreach (var argument in self.Skip(1).Append("--foreground"))
        {
            start.ArgumentList.Add(argument);
        }
        using var child = Process.Start(start)!;
        var logWriter = new StreamWriter(new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        child.OutputDataReceived += (_, line) => { if (line.Data is not null) { lock (logWriter) { logWriter.WriteLine(line.Data); } } };
        child.ErrorDataReceived += (_, line) => { if (line.Data is not null) { lock (logWriter) { logWriter.WriteLine(line.Data); } } };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();

        using var http = new HttpClient(TorchServeHost.ReadinessProbeHandler(config)) { Timeout = TimeSpan.FromSeconds(2) };
        var ping = new Uri(config.InferenceAddress, "/ping");
        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromMinutes(5); waited += TimeSpan.FromMilliseconds(250))
        {
            if (child.HasExited)
            {
                error.WriteLine($"serve start: the server stopped while starting (exit code {child.ExitCode}); see {log}.");
                return 1;
            }
            try
            {
                using var response = await http.GetAsync(ping, cancellation);
                if (response.IsSuccessStatusCode)
                {
                    output.WriteLine($"Server started (process {child.Id}); logs in {log}. Stop it with `serve stop`.");
                    return 0;
                }
                // Started, with a model that cannot serve (503 means still loading): TorchServe starts so too.
                if (response.StatusCode == HttpStatusCode.InternalServerError)
                {
                    output.WriteLine($"Server started (process {child.Id}); logs in {log}. Stop it with `serve stop`.");
                    error.WriteLine($"serve start: the server is Unhealthy: a model failed to load; see {log} or describe it (GET /models/NAME).");
                    return 0;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
            {
            }
            await Task.Delay(250, cancellation);
        }
        error.WriteLine($"serve start: the server did not answer {ping} within 5 minutes; see {log}.");
        return 1;
    }
}
