using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.TorchServe;

namespace Serve.FuzzTests;

/// <summary>
/// Hostile archives, model-configs and management calls sent to the server `serve start` builds
/// (real Kestrel on 127.0.0.1): deep, aliased and huge model-configs, manifests naming paths
/// outside the archive, slipping and bomb entries, names no URL can address, and random
/// register/scale/describe/unregister calls. After each case: no 5xx, the process is up, and a good
/// prediction is still answered. Seeded and bounded (SERVE_FUZZ_RUNS for more, SERVE_FUZZ_SEED to replay).
/// </summary>
public sealed class ServerFuzzTests : IAsyncLifetime
{
    private static readonly string[] HostilePaths =
    [
        "/etc/passwd", "../../etc/passwd", "a/../../x", "..", ".", "", "\0", "x\0.onnx", "..\\..\\x", "C:\\x", "//x", "model-config.yaml/..",
        "~/.ssh/id_rsa", "%2e%2e/x", "digits.onnx", "MAR-INF/MANIFEST.json", new string('a', 5000), "/proc/self/environ", "/dev/zero",
    ];

    private static readonly string[] HostileNames =
    [
        "z/0", ".", "..", "../../evil", "a\0b", "", " ", "-x", "é", new string('n', 300), "ok", "a.b-c_d", "%2F", "a?b", "a#b", "a b",
    ];

    private readonly string _root = Directory.CreateTempSubdirectory("serve-fuzz-server-").FullName;
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(60) };
    private WebApplication _app = null!;
    private Uri _inference = null!;
    private Uri _management = null!;
    private string Store => Path.Combine(_root, "store");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Store);
        ZipFile.CreateFromDirectory(Path.Combine(AppContext.BaseDirectory, "digits-model"), Path.Combine(Store, "digits.mar"));
        int Port()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var config = TorchServeConfig.Parse($"""
            inference_address=http://127.0.0.1:{Port()}
            management_address=http://127.0.0.1:{Port()}
            metrics_address=http://127.0.0.1:{Port()}
            model_store={Store}
            load_models=digits.mar
            enable_model_api=true
            disable_token_authorization=true
            max_archive_unpacked_size=50000000
            """, "fuzz config.properties");
        _app = TorchServeHost.Build(config, ModelStore.Select(config.ModelStore, config.LoadModels),
            services => services.AddOnnxRuntime().AddDigitsHandlers(), TextWriter.Null, Path.Combine(_root, "work"), Path.Combine(_root, "key_file.json"));
        await _app.StartAsync();
        (_inference, _management) = (config.InferenceAddress, config.ManagementAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Hostile_archives_configs_and_management_calls_get_no_5xx_and_the_server_keeps_predicting()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SERVE_FUZZ_SEED"), out var given) ? given : 23;
        var random = new Random(seed);
        var cases = Mutations.Runs(60);
        for (var i = 0; i < cases; i++)
        {
            var kind = random.Next(4);
            var description = kind switch
            {
                0 => await RegisterArchive(random, ModelConfigCase(random), i),
                1 => await RegisterArchive(random, null, i),
                2 => await RegisterEntries(random, i),
                _ => await ManagementCall(random),
            };
            using var predict = await _client.PostAsync(new Uri(_inference, "/predictions/digits"),
                new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "digits-images", "3.png"))));
            Assert.True(predict.StatusCode == HttpStatusCode.OK, $"seed {seed}, case {i} ({description}): the good prediction got {(int)predict.StatusCode}");
        }
    }

    private static string ModelConfigCase(Random random) => random.Next(5) switch
    {
        0 => "handler: " + new string('[', random.Next(30, 100_000)) + "]",
        1 => "handler:\n" + string.Concat(Enumerable.Range(1, random.Next(30, 600)).Select(d => new string(' ', d) + "k:\n")),
        2 => "onnx:\n  l0: &l0 [x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, random.Next(2, 12)).Select(l => $"  l{l}: &l{l} [{string.Join(", ", Enumerable.Repeat($"*l{l - 1}", random.Next(2, 9)))}]\n")),
        3 => "handler:\n" + string.Concat(Enumerable.Range(0, random.Next(1_000, 120_000)).Select(k => $"  k{k}: {k}\n")),
        _ => "batchSize: " + random.Next(-5, 20) + "\nminWorkers: " + random.Next(-1, 100) + "\nmaxWorkers: " + random.Next(-1, 100) + "\n" + (random.Next(2) == 0 ? "&a x: *a\n" : ""),
    };

    // An archive with a hostile manifest (names, paths) and, when given, a hostile model-config.
    private async Task<string> RegisterArchive(Random random, string? modelConfig, int index)
    {
        var name = modelConfig is null ? Pick(random, HostileNames) : $"cfg{index}";
        var field = Pick(random, ["serializedFile", "configFile", "handler"]);
        var path = modelConfig is null ? Pick(random, HostilePaths) : "model-config.yaml";
        var manifest = "{\"model\": {\"modelName\": " + Json(name) + ", \"modelVersion\": \"1.0\", \"handler\": \"digits\", \"serializedFile\": \"digits.onnx\", " + Json(field) + ": " + Json(path) + "}}";
        var file = Path.Combine(Store, $"case{index}.mar");
        using (var zip = ZipFile.Open(file, ZipArchiveMode.Create))
        {
            Add(zip, "MAR-INF/MANIFEST.json", Encoding.UTF8.GetBytes(manifest));
            zip.CreateEntryFromFile(Path.Combine(AppContext.BaseDirectory, "digits-model", "digits.onnx"), "digits.onnx");
            if (modelConfig is not null)
            {
                Add(zip, "model-config.yaml", Encoding.UTF8.GetBytes(modelConfig));
            }
        }
        var query = $"url=case{index}.mar" + (random.Next(3) == 0 ? "&model_name=" + Uri.EscapeDataString(Pick(random, HostileNames)) : "");
        await Call(HttpMethod.Post, "/models?" + query, cleanUp: true);
        File.Delete(file);
        return $"archive {field}={path.Length} chars, name {name.Length} chars, config {modelConfig?.Length ?? 0} chars";
    }

    // An archive whose entries themselves are hostile: slips, links, bombs, cut-off or random bytes.
    private async Task<string> RegisterEntries(Random random, int index)
    {
        var file = Path.Combine(Store, $"entries{index}.mar");
        var shape = random.Next(5);
        if (shape == 4)
        {
            var bytes = new byte[random.Next(0, 4096)];
            random.NextBytes(bytes);
            File.WriteAllBytes(file, bytes);
        }
        else
        {
            using (var zip = ZipFile.Open(file, ZipArchiveMode.Create))
            {
                Add(zip, "MAR-INF/MANIFEST.json", """{"model": {"modelName": "entries", "handler": "digits", "serializedFile": "digits.onnx"}}"""u8.ToArray());
                switch (shape)
                {
                    case 0:
                        Add(zip, Pick(random, HostilePaths.Where(p => p.Length is > 0 and < 300).ToArray()), "owned"u8.ToArray());
                        break;
                    case 1:
                        Add(zip, "link", "/etc/passwd"u8.ToArray()).ExternalAttributes = 0xA1FF << 16;
                        break;
                    case 2:
                        using (var pad = zip.CreateEntry("pad.bin", CompressionLevel.SmallestSize).Open())
                        {
                            var block = new byte[1 << 20];
                            for (var mb = 0; mb < random.Next(60, 80); mb++)
                            {
                                pad.Write(block);
                            }
                        }
                        break;
                }
            }
            if (shape == 3)
            {
                var whole = File.ReadAllBytes(file);
                File.WriteAllBytes(file, whole[..random.Next(1, whole.Length)]);
            }
        }
        await Call(HttpMethod.Post, $"/models?url=entries{index}.mar", cleanUp: true);
        File.Delete(file);
        return $"entries shape {shape}";
    }

    private async Task<string> ManagementCall(Random random)
    {
        var name = Uri.EscapeDataString(Pick(random, [.. HostileNames, "digits"]));
        var (method, path) = random.Next(6) switch
        {
            0 => (HttpMethod.Put, $"/models/{name}?min_worker={random.Next(-2, 80)}&max_worker={random.Next(-2, 80)}&synchronous={random.Next(2) == 0}"),
            1 => (HttpMethod.Get, $"/models/{name}/{Uri.EscapeDataString(Pick(random, ["all", "1.0", "..", "x"]))}"),
            2 => (HttpMethod.Delete, $"/models/{name}/{Uri.EscapeDataString(Pick(random, ["2.0", "..", "%00"]))}"),
            3 => (HttpMethod.Get, $"/models?limit={random.Next(-5, 500)}&next_page_token={Uri.EscapeDataString(Pick(random, ["0", "-1", "x", "99999999999"]))}"),
            4 => (HttpMethod.Post, "/models?url=" + Uri.EscapeDataString(Pick(random,
                ["http://127.0.0.1:1/x.mar", "file:///etc/passwd", "file:///dev/zero", "digits.mar\0.txt", "../digits.mar", "http://[::1]/x.mar", "ftp://x/y.mar", "http://169.254.169.254/", "", "digits.mar"]))
                + "&model_name=" + name + "&batch_size=" + random.Next(-1, 2000)),
            _ => (HttpMethod.Put, $"/models/{name}/1.0/set-default"),
        };
        await Call(method, path, cleanUp: method == HttpMethod.Post);
        if (method == HttpMethod.Put && name == "digits")
        {
            await Call(HttpMethod.Put, "/models/digits?min_worker=1&max_worker=1&synchronous=true", cleanUp: false); // back to one worker
        }
        return $"{method} {path[..Math.Min(path.Length, 80)]}";
    }

    private async Task Call(HttpMethod method, string path, bool cleanUp)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, new Uri(_management, path)));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{method} {path[..Math.Min(path.Length, 200)]}: {(int)response.StatusCode} {body}");
        if (cleanUp && response.IsSuccessStatusCode && System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("status").GetString() is { } status
            && status.Split('"') is [_, var registered, ..] && registered != "digits")
        {
            using var removed = await _client.DeleteAsync(new Uri(_management, "/models/" + Uri.EscapeDataString(registered)));
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }
    }

    private static ZipArchiveEntry Add(ZipArchive zip, string name, byte[] content)
    {
        var entry = zip.CreateEntry(name);
        using (var stream = entry.Open())
        {
            stream.Write(content);
        }
        return entry;
    }

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
