using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>
/// A real server on 127.0.0.1 built as `serve start` builds it: three listeners, token
/// authorization, the digits archive made by torch-model-archiver loaded from a model store.
/// </summary>
public sealed class TorchServeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public TempDirectory Temp { get; } = new();
    public TorchServeConfig Config { get; }
    public HttpClient Client { get; } = new();
    public string InferenceKey { get; }
    public string ManagementKey { get; }

    private TorchServeServer(WebApplication app, TorchServeConfig config, TempDirectory temp, string inferenceKey, string managementKey)
    {
        _app = app;
        Config = config;
        Temp = temp;
        InferenceKey = inferenceKey;
        ManagementKey = managementKey;
    }

    public static async Task<TorchServeServer> StartAsync(string extraConfig = "")
    {
        var temp = new TempDirectory();
        var store = temp["store"];
        Directory.CreateDirectory(store);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", "digits.mar"), Path.Combine(store, "digits.mar"));
        // The same model made by `serve archive`, with room to scale to four workers.
        File.WriteAllText(temp["model-config.yaml"], "batchSize: 8\nminWorkers: 1\nmaxWorkers: 4\n");
        Serve.Archives.ModelArchiveWriter.Write(new Serve.Archives.ArchiveSpec
        {
            ModelName = "scalable",
            Version = "1.0",
            SerializedFile = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", "digits.onnx"),
            Handler = "digits",
            ConfigFile = temp["model-config.yaml"],
            ExportPath = store,
        }, DateTime.Now);
        var config = TorchServeConfig.Parse($"""
            inference_address=http://127.0.0.1:{FreePort.Next()}
            management_address=http://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            model_store={store}
            load_models=digits=digits.mar,scalable.mar
            enable_model_api=true
            max_archive_unpacked_size=1000000
            {extraConfig}
            """, "test config.properties");
        var keyFile = temp["key_file.json"];
        var app = TorchServeHost.Build(config, ModelStore.Select(config.ModelStore, config.LoadModels),
            services => services.AddOnnxRuntime().AddDigitsHandlers(), TextWriter.Null, temp["work"], keyFile);
        await app.StartAsync();
        string inference = "", management = "";
        if (!config.DisableTokenAuthorization)
        {
            using var keys = JsonDocument.Parse(File.ReadAllText(keyFile));
            inference = keys.RootElement.GetProperty("inference").GetProperty("key").GetString()!;
            management = keys.RootElement.GetProperty("management").GetProperty("key").GetString()!;
        }
        return new TorchServeServer(app, config, temp, inference, management);
    }

    public Task<HttpResponseMessage> Inference(HttpMethod method, string path, HttpContent? body = null, string? key = "") =>
        Send(method, Config.InferenceAddress, path, body, key == "" ? InferenceKey : key);

    public Task<HttpResponseMessage> Management(HttpMethod method, string path, string? key = "") =>
        Send(method, Config.ManagementAddress, path, null, key == "" ? ManagementKey : key);

    public Task<HttpResponseMessage> Metrics(string path = "/metrics") => Send(HttpMethod.Get, Config.MetricsAddress, path, null, null);

    public Task<HttpResponseMessage> Predict(string model, int digit = 3) =>
        Inference(HttpMethod.Post, $"/predictions/{model}", new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", $"{digit}.png"))));

    private Task<HttpResponseMessage> Send(HttpMethod method, Uri listener, string path, HttpContent? body, string? key)
    {
        var request = new HttpRequestMessage(method, new Uri(listener, path)) { Content = body };
        if (!string.IsNullOrEmpty(key))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Temp.Dispose();
    }
}

public static class ResponseJson
{
    public static async Task<JsonElement> Json(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
