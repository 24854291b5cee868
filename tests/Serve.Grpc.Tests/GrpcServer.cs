using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.Archives;
using Serve.TorchServe;

namespace Serve.Grpc.Tests;

/// <summary>
/// A real server on 127.0.0.1 built as `serve start` builds it, with its gRPC listeners on ports
/// the system chooses (grpc_*_port=0): token authorization on, model API on, the digits archive
/// made by torch-model-archiver and an image_classifier archive of a seeded MobileNet-style ONNX
/// classifier loaded from a model store.
/// </summary>
public sealed class GrpcServer : IAsyncLifetime
{
    private WebApplication _app = null!;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "serve-grpc-tests-" + Guid.NewGuid().ToString("N"));
    public string InferenceKey { get; private set; } = "";
    public string ManagementKey { get; private set; } = "";
    public GrpcChannel Inference { get; private set; } = null!;
    public GrpcChannel Management { get; private set; } = null!;
    public TorchServeConfig Config { get; private set; } = null!;

    /// <summary>The server's access log (TorchServe's access_log.log).</summary>
    public string AccessLog => Path.Combine(Directory, "access_log.log");

    public static string Fixture(params string[] path) => Path.Combine([AppContext.BaseDirectory, "fixtures", .. path]);

    public async Task InitializeAsync()
    {
        var store = Path.Combine(Directory, "store");
        System.IO.Directory.CreateDirectory(store);
        File.Copy(Fixture("digits.mar"), Path.Combine(store, "digits.mar"));
        ModelArchiveWriter.Write(new ArchiveSpec
        {
            ModelName = "classifier",
            Version = "1.0",
            SerializedFile = Fixture("vision", "classifier.onnx"),
            Handler = "image_classifier",
            ExtraFiles = [Fixture("vision", "index_to_name.json")],
            ExportPath = store,
        }, DateTime.Now);

        var config = Config = TorchServeConfig.Parse($"""
            inference_address=http://127.0.0.1:{FreePort()}
            management_address=http://127.0.0.1:{FreePort()}
            metrics_address=http://127.0.0.1:{FreePort()}
            grpc_inference_port=0
            grpc_management_port=0
            model_store={store}
            load_models=digits=digits.mar,classifier.mar
            enable_model_api=true
            """, "test config.properties");
        var keyFile = Path.Combine(Directory, "key_file.json");
        _app = TorchServeHost.Build(config, ModelStore.Select(config.ModelStore, config.LoadModels),
            services => services.AddOnnxRuntime().AddDigitsHandlers().AddServeBuiltInHandlers().AddTorchServeGrpc(),
            TextWriter.Null, Path.Combine(Directory, "work"), keyFile, AccessLog);
        await _app.StartAsync();

        using (var keys = JsonDocument.Parse(File.ReadAllText(keyFile)))
        {
            InferenceKey = keys.RootElement.GetProperty("inference").GetProperty("key").GetString()!;
            ManagementKey = keys.RootElement.GetProperty("management").GetProperty("key").GetString()!;
        }
        var listeners = _app.Services.GetRequiredService<GrpcListeners>();
        Inference = GrpcChannel.ForAddress($"http://{listeners.InferenceEndPoint}");
        Management = GrpcChannel.ForAddress($"http://{listeners.ManagementEndPoint}");
    }

    /// <summary>The call options of a call with <paramref name="key"/>, or without a key when null.</summary>
    public static CallOptions With(string? key) =>
        new(key is null ? null : new Metadata { { "authorization", $"Bearer {key}" } }, DateTime.UtcNow.AddMinutes(2));

    public async Task DisposeAsync()
    {
        Inference?.Dispose();
        Management?.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    // The REST listeners need fixed ports (their API is told by port); each is one the system just
    // handed out, never handed out twice in this process.
    private static readonly HashSet<int> Given = [];

    private static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
