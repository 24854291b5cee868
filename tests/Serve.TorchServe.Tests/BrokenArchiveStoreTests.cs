using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Archives;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>
/// A model store with broken archives beside good ones, all loaded at start (load_models=all):
/// the good ones serve, each broken one is reported as failed with its reason (describe, list,
/// the log at Error, the ts_model_failed gauge), and the server does not stop.
/// </summary>
public sealed class BrokenArchiveStoreTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly StringWriter _progress = new();
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _log = new();
    private readonly HttpClient _client = new();
    private WebApplication _app = null!;
    private TorchServeConfig _config = null!;

    public async Task InitializeAsync()
    {
        var store = _temp["store"];
        Directory.CreateDirectory(store);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", "digits.mar"), Path.Combine(store, "digits.mar"));
        ModelArchiveWriter.Write(new ArchiveSpec
        {
            ModelName = "good",
            Version = "1.0",
            SerializedFile = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", "digits.onnx"),
            Handler = "digits",
            ExportPath = store,
        }, DateTime.Now);
        // Not a zip at all: it cannot be unpacked.
        File.WriteAllText(Path.Combine(store, "corrupt.mar"), "this is not an archive");
        // Unpacks, but names a handler this server does not have.
        ArchiveBuilder.Zip(Path.Combine(store, "nohandler.mar"),
            ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "nohandler", "modelVersion": "1.0", "serializedFile": "digits.onnx", "handler": "no_such_handler"}}""", 0),
            ("digits.onnx", "not read", 0));
        // Its handler exists, but its model file is not ONNX: the workers fail to start.
        ArchiveBuilder.Zip(Path.Combine(store, "badmodel.mar"),
            ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "badmodel", "modelVersion": "2.0", "serializedFile": "digits.onnx", "handler": "digits"}}""", 0),
            ("digits.onnx", "not a model", 0));

        _config = TorchServeConfig.Parse($"""
            inference_address=http://127.0.0.1:{FreePort.Next()}
            management_address=http://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            model_store={store}
            load_models=all
            disable_token_authorization=true
            enable_model_api=true
            """, "test config.properties");
        _app = TorchServeHost.Build(_config, ModelStore.Select(_config.ModelStore, _config.LoadModels),
            services => services.AddOnnxRuntime().AddDigitsHandlers().AddSingleton<ILoggerProvider>(new RecordingLoggerProvider(_log)),
            _progress, _temp["work"], _temp["key_file.json"]);
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _temp.Dispose();
    }

    private Task<HttpResponseMessage> Predict(string model) =>
        _client.PostAsync(new Uri(_config.InferenceAddress, $"/predictions/{model}"),
            new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", "3.png"))));

    private async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Json)> Management(HttpMethod method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, new Uri(_config.ManagementAddress, path)));
        return (response.StatusCode, await response.Json());
    }

    [Fact]
    public async Task The_good_models_serve_and_each_broken_one_is_described_as_FAILED_with_its_reason()
    {
        foreach (var good in new[] { "digits", "good" })
        {
            using var prediction = await Predict(good);
            Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
            Assert.Equal(3, (await prediction.Json()).GetProperty("digit").GetInt32());
        }

        var listed = await Management(HttpMethod.Get, "/models");
        Assert.Equal(["badmodel", "corrupt", "digits", "good", "nohandler"],
            listed.Json.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("modelName").GetString()));

        var broken = await Describe("corrupt");
        Assert.Equal("corrupt.mar", broken.GetProperty("modelUrl").GetString());
        Assert.Contains("corrupt.mar", broken.GetProperty("error").GetString());
        Assert.Contains("asks for handler 'no_such_handler', which is not registered", (await Describe("nohandler")).GetProperty("error").GetString());
        var badModel = await Describe("badmodel");
        Assert.Equal("2.0", badModel.GetProperty("modelVersion").GetString());
        Assert.StartsWith("Model 'badmodel': ONNX Runtime cannot load", badModel.GetProperty("error").GetString());

        // Predictions: 503 naming the reason, whether the workers failed or the archive never became a model.
        foreach (var (name, reason) in new[] { ("badmodel", "ONNX Runtime cannot load"), ("corrupt", "corrupt.mar"), ("nohandler", "no_such_handler") })
        {
            using var failed = await Predict(name);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            var message = (await failed.Json()).GetProperty("message").GetString();
            Assert.Contains($"Model '{name}'", message);
            Assert.Contains("failed to load", message);
            Assert.Contains(reason, message);
        }

        Assert.Contains("corrupt.mar cannot be served:", _progress.ToString());
        foreach (var name in new[] { "corrupt", "nohandler", "badmodel" })
        {
            Assert.Contains(_log, entry => entry.Level == LogLevel.Error && entry.Message.StartsWith($"Model {name} version ", StringComparison.Ordinal)
                && entry.Message.Contains("failed to load at start; the other models serve on:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_ts_model_failed_gauge_counts_each_failed_model_until_it_is_unregistered()
    {
        var failing = await FailedGauge();
        Assert.Equal(["badmodel/2.0", "corrupt/", "nohandler/"], failing);

        Assert.Equal(HttpStatusCode.OK, (await Management(HttpMethod.Delete, "/models/corrupt")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Management(HttpMethod.Delete, "/models/badmodel")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Management(HttpMethod.Get, "/models/corrupt")).Status);
        Assert.Equal(["nohandler/"], await FailedGauge());

        // The name of a failed model is free to register again, with an archive that works.
        var registered = await Management(HttpMethod.Post, "/models?url=good.mar&model_name=nohandler");
        Assert.Equal(HttpStatusCode.OK, registered.Status);
        Assert.Empty(await FailedGauge());
        using var prediction = await Predict("nohandler");
        Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
    }

    [Fact]
    public async Task The_management_operations_answer_without_HTTP_for_another_protocol_to_carry()
    {
        var management = _app.Services.GetRequiredService<ModelManagement>();

        var described = management.Describe("corrupt", null);
        Assert.Equal((ManagementStatus.Ok, false), (described.Status, described.IsError));
        Assert.Equal("FAILED", System.Text.Json.JsonDocument.Parse(described.Json!).RootElement[0].GetProperty("status").GetString());

        var scaled = await management.ScaleAsync("good", "1.0", 0, null, synchronous: true, default);
        Assert.Equal((ManagementStatus.Ok, "Workers scaled to 0 for model: good, version: 1.0"), (scaled.Status, scaled.Message));

        var missing = await management.UnregisterAsync("nope", null, default);
        Assert.Equal((ManagementStatus.NotFound, "ModelNotFoundException", "Model not found: nope"), (missing.Status, missing.ErrorType, missing.Message));
        var refused = await management.RegisterAsync("good.mar", new ModelRequest(ModelName: "again"), synchronous: true, runtime: "python4", default);
        Assert.Equal((ManagementStatus.BadRequest, "BadRequestException"), (refused.Status, refused.ErrorType));
    }

    private async Task<System.Text.Json.JsonElement> Describe(string name)
    {
        var (status, json) = await Management(HttpMethod.Get, $"/models/{name}");
        Assert.Equal(HttpStatusCode.OK, status);
        var model = Assert.Single(json.EnumerateArray());
        Assert.Equal((name, "FAILED", 0), (model.GetProperty("modelName").GetString(), model.GetProperty("status").GetString(), model.GetProperty("workers").GetArrayLength()));
        Assert.True(model.GetProperty("loadedAtStartup").GetBoolean());
        return model;
    }

    private async Task<string[]> FailedGauge()
    {
        var text = await _client.GetStringAsync(new Uri(_config.MetricsAddress, "/metrics"));
        // This server's gauge only: other tests' servers export theirs on their own listeners.
        return [.. PrometheusSample.Parse(text).Where(s => s.Name == "ts_model_failed")
            .Select(s => { Assert.Equal(1, s.Value); return $"{s.Labels["model_name"]}/{s.Labels["model_version"]}"; })
            .Order(StringComparer.Ordinal)];
    }

    private sealed class RecordingLoggerProvider(ConcurrentQueue<(LogLevel, string)> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recorder(log);

        public void Dispose()
        {
        }

        private sealed class Recorder(ConcurrentQueue<(LogLevel, string)> log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
