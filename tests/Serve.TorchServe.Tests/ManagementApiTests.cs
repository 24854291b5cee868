using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Archives;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>
/// TorchServe's management API beyond one version per name, on real Kestrel at 127.0.0.1: versions
/// and the default, register parameters, synchronous=false, scaling's bounds, describe's fields.
/// </summary>
public sealed class ManagementApiTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private TorchServeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TorchServeServer.StartAsync();
        var store = _server.Config.ModelStore!;
        // Version 2.0 of "scalable" (the store's scalable.mar is 1.0), and a model with no model-config.
        File.WriteAllText(_server.Temp["v2-config.yaml"], "batchSize: 2\nminWorkers: 1\nmaxWorkers: 4\n");
        Write("scalable", "2.0", _server.Temp["v2-config.yaml"], _server.Temp["v2"]);
        File.Move(Path.Combine(_server.Temp["v2"], "scalable.mar"), Path.Combine(store, "scalable-2.mar"));
        Write("bare", "1.0", null, store);
        // Names the digits handler, but its model file is not ONNX: its workers fail to initialize.
        ArchiveBuilder.Zip(Path.Combine(store, "broken.mar"),
            ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "broken", "modelVersion": "1.0", "serializedFile": "digits.onnx", "handler": "digits"}}""", 0),
            ("digits.onnx", "not a model", 0));
    }

    private static void Write(string name, string version, string? config, string exportPath) =>
        ModelArchiveWriter.Write(new ArchiveSpec
        {
            ModelName = name,
            Version = version,
            SerializedFile = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", "digits.onnx"),
            Handler = "digits",
            ConfigFile = config,
            ExportPath = exportPath,
        }, DateTime.Now);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Json)> Call(HttpMethod method, string path)
    {
        using var response = await _server.Management(method, path);
        return (response.StatusCode, await response.Json());
    }

    private Task<HttpResponseMessage> Predict(string path, int digit = 3) =>
        _server.Inference(HttpMethod.Post, path, new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", $"{digit}.png"))));

    private async Task<JsonElement> DescribeWhen(string path, Func<JsonElement, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var (status, json) = await Call(HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.OK, status);
            if (condition(json[0]))
            {
                return json[0];
            }
            await Task.Delay(50, timeout.Token);
        }
    }

    private static void AssertError(HttpStatusCode expected, string type, string message, (HttpStatusCode Status, JsonElement Json) answer)
    {
        Assert.Equal(expected, answer.Status);
        Assert.Equal((int)expected, answer.Json.GetProperty("code").GetInt32());
        Assert.Equal(type, answer.Json.GetProperty("type").GetString());
        Assert.Equal(message, answer.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_second_version_is_registered_described_predicted_made_default_and_unregistered()
    {
        var registered = await Call(HttpMethod.Post, "/models?url=scalable-2.mar");
        Assert.Equal(HttpStatusCode.OK, registered.Status);
        Assert.Equal("Model \"scalable\" Version: 2.0 registered with 1 initial workers", registered.Json.GetProperty("status").GetString());
        AssertError(HttpStatusCode.Conflict, "ConflictStatusException", "Model version 2.0 is already registered for model scalable",
            await Call(HttpMethod.Post, "/models?url=scalable-2.mar"));

        // Describe: the default (the first registered), one version, all versions.
        Assert.Equal("1.0", (await Call(HttpMethod.Get, "/models/scalable")).Json[0].GetProperty("modelVersion").GetString());
        var two = (await Call(HttpMethod.Get, "/models/scalable/2.0")).Json[0];
        Assert.Equal(("2.0", "scalable-2.mar", 2), (two.GetProperty("modelVersion").GetString(), two.GetProperty("modelUrl").GetString(), two.GetProperty("batchSize").GetInt32()));
        var all = (await Call(HttpMethod.Get, "/models/scalable/all")).Json;
        Assert.Equal(["1.0", "2.0"], all.EnumerateArray().Select(m => m.GetProperty("modelVersion").GetString()));

        // Predictions reach the version asked for (the metrics label the version that answered).
        using (var prediction = await Predict("/predictions/scalable/2.0", 7))
        {
            Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
            Assert.Equal(7, (await prediction.Json()).GetProperty("digit").GetInt32());
        }
        using (var missing = await Predict("/predictions/scalable/9.9"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("ModelVersionNotFoundException", (await missing.Json()).GetProperty("type").GetString());
        }
        using (var metrics = await _server.Metrics())
        {
            Assert.Matches(@"(?m)^ts_inference_requests_total\{[^}]*model_name=""scalable""[^}]*model_version=""2.0""[^}]*\} 1$", await metrics.Content.ReadAsStringAsync());
        }

        // The default cannot go while another version remains, whether named or not (TorchServe's 403).
        AssertError(HttpStatusCode.Forbidden, "InvalidModelVersionException", "Cannot remove default version for model scalable",
            await Call(HttpMethod.Delete, "/models/scalable/1.0"));
        AssertError(HttpStatusCode.Forbidden, "InvalidModelVersionException", "Cannot remove default version for model scalable",
            await Call(HttpMethod.Delete, "/models/scalable"));

        var setDefault = await Call(HttpMethod.Put, "/models/scalable/2.0/set-default");
        Assert.Equal("Default version successfully updated for model \"scalable\" to \"2.0\"", setDefault.Json.GetProperty("status").GetString());
        Assert.Equal("2.0", (await Call(HttpMethod.Get, "/models/scalable")).Json[0].GetProperty("modelVersion").GetString());
        var listed = (await Call(HttpMethod.Get, "/models")).Json.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("modelName").GetString() == "scalable");
        Assert.Equal("scalable-2.mar", listed.GetProperty("modelUrl").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Delete, "/models/scalable/1.0")).Status);
        AssertError(HttpStatusCode.NotFound, "ModelVersionNotFoundException", "Model version: 1.0 does not exist for model: scalable",
            await Call(HttpMethod.Delete, "/models/scalable/1.0"));
        AssertError(HttpStatusCode.NotFound, "ModelVersionNotFoundException", "Model version 1.0 does not exist for model scalable",
            await Call(HttpMethod.Put, "/models/scalable/1.0/set-default"));
        using (var byDefault = await Predict("/predictions/scalable", 5))
        {
            Assert.Equal(5, (await byDefault.Json()).GetProperty("digit").GetInt32());
        }
    }

    [Fact]
    public async Task Scaling_one_version_replaces_its_bounds_and_leaves_the_other_alone()
    {
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Post, "/models?url=scalable-2.mar")).Status);

        var scaled = await Call(HttpMethod.Put, "/models/scalable/2.0?min_worker=2&max_worker=6&synchronous=true");
        Assert.Equal(HttpStatusCode.OK, scaled.Status);
        Assert.Equal("Workers scaled to 2 for model: scalable, version: 2.0", scaled.Json.GetProperty("status").GetString());

        var two = (await Call(HttpMethod.Get, "/models/scalable/2.0")).Json[0];
        Assert.Equal((2, 6, 2), (two.GetProperty("minWorkers").GetInt32(), two.GetProperty("maxWorkers").GetInt32(), two.GetProperty("workers").GetArrayLength()));
        var one = (await Call(HttpMethod.Get, "/models/scalable/1.0")).Json[0];
        Assert.Equal(1, one.GetProperty("workers").GetArrayLength());
    }

    [Fact]
    public async Task Scaling_replaces_the_archives_bounds_and_refuses_what_cannot_be()
    {
        // digits.mar's model-config sets no worker bounds (1..1): TorchServe's min_worker/max_worker replace them.
        var scaled = await Call(HttpMethod.Put, "/models/digits?min_worker=3&synchronous=true");
        Assert.Equal("Workers scaled to 3 for model: digits", scaled.Json.GetProperty("status").GetString());
        var digits = (await Call(HttpMethod.Get, "/models/digits")).Json[0];
        Assert.Equal((3, 3, 3), (digits.GetProperty("minWorkers").GetInt32(), digits.GetProperty("maxWorkers").GetInt32(), digits.GetProperty("workers").GetArrayLength()));

        AssertError(HttpStatusCode.BadRequest, "BadRequestException", "max_worker cannot be less than min_worker.",
            await Call(HttpMethod.Put, "/models/digits?min_worker=3&max_worker=2"));
        AssertError(HttpStatusCode.BadRequest, "BadRequestException", "min_worker=100000 is more than this server's limit of 64 workers per model (MaxWorkersPerModel).",
            await Call(HttpMethod.Put, "/models/digits?min_worker=100000"));
        AssertError(HttpStatusCode.BadRequest, "BadRequestException", "min_worker='-1' must be a whole number of at least 0.",
            await Call(HttpMethod.Put, "/models/digits?min_worker=-1"));
        AssertError(HttpStatusCode.BadRequest, "BadRequestException", "synchronous='maybe' must be true or false.",
            await Call(HttpMethod.Put, "/models/digits?min_worker=1&synchronous=maybe"));
        AssertError(HttpStatusCode.NotFound, "ModelVersionNotFoundException", "Model version: all does not exist for model: digits",
            await Call(HttpMethod.Put, "/models/digits/all?min_worker=1"));
    }

    [Fact]
    public async Task A_model_with_zero_workers_stays_registered_answering_503_until_scaled_up()
    {
        var registered = await Call(HttpMethod.Post, "/models?url=digits.mar&model_name=idle&initial_workers=0");
        Assert.Equal("Model \"idle\" Version: 1.0 registered with 0 initial workers. Use scale workers API to add workers for the model.",
            registered.Json.GetProperty("status").GetString());
        await AssertNoWorkerAsync();

        Assert.Equal(HttpStatusCode.Accepted, (await Call(HttpMethod.Put, "/models/idle?min_worker=1")).Status);
        await DescribeWhen("/models/idle", m => m.GetProperty("workers").EnumerateArray().Count(w => w.GetProperty("status").GetString() == "READY") == 1);
        using (var served = await Predict("/predictions/idle", 5))
        {
            Assert.Equal(5, (await served.Json()).GetProperty("digit").GetInt32());
        }

        // TorchServe's "Update Worker with Zero Worker Count": 202, then no workers.
        Assert.Equal(HttpStatusCode.Accepted, (await Call(HttpMethod.Put, "/models/idle?min_worker=0")).Status);
        var idle = await DescribeWhen("/models/idle", m => m.GetProperty("workers").GetArrayLength() == 0);
        Assert.Equal((0, 0, "READY"), (idle.GetProperty("minWorkers").GetInt32(), idle.GetProperty("maxWorkers").GetInt32(), idle.GetProperty("status").GetString()));
        await AssertNoWorkerAsync();

        async Task AssertNoWorkerAsync()
        {
            using var refused = await Predict("/predictions/idle");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("has no worker to serve inference requests", (await refused.Json()).GetProperty("message").GetString());
        }
    }

    [Theory]
    [InlineData("?limit=&next_page_token=")] // TorchServe's "List Models": empty values take the defaults
    [InlineData("?limit=-1")]                // outside 1-100: 100, as TorchServe's getModelList
    [InlineData("?limit=500&next_page_token=-1")]
    public async Task Listing_takes_TorchServes_defaults_for_empty_and_out_of_range_values(string query)
    {
        var listed = await Call(HttpMethod.Get, "/models" + query);

        Assert.Equal(HttpStatusCode.OK, listed.Status);
        Assert.Equal(["digits", "scalable"], listed.Json.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("modelName").GetString()));
        AssertError(HttpStatusCode.BadRequest, "BadRequestException", "limit='ten' must be a whole number.", await Call(HttpMethod.Get, "/models?limit=ten"));
    }

    [Fact]
    public async Task Workers_that_miss_the_startup_timeout_fail_the_registration_with_500_and_leave_nothing_registered()
    {
        // TorchServe's "Register Model with Additional Params and startup_timeout as 0".
        var failed = await Call(HttpMethod.Post, "/models?url=bare.mar&model_name=hasty&batch_size=3&initial_workers=3&startup_timeout=0");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.Status);
        Assert.Equal("InternalServerException", failed.Json.GetProperty("type").GetString());
        Assert.Equal("Failed to start workers for model hasty version: 1.0: Model 'hasty': handler 'digits' did not initialize within the startup timeout of 0 s (startup_timeout, model-config's startupTimeout).",
            failed.Json.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, "/models/hasty")).Status);
    }

    [Fact]
    public async Task Scaling_without_synchronous_answers_202_and_the_workers_follow()
    {
        var accepted = await Call(HttpMethod.Put, "/models/scalable?min_worker=3");

        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        Assert.Equal("Processing worker updates...", accepted.Json.GetProperty("status").GetString());
        var described = await DescribeWhen("/models/scalable", m => m.GetProperty("workers").EnumerateArray().Count(w => w.GetProperty("status").GetString() == "READY") == 3);
        Assert.Equal(3, described.GetProperty("minWorkers").GetInt32());
    }

    [Fact]
    public async Task Register_parameters_override_the_archive_as_TorchServe_does()
    {
        // digits.mar has a model-config (batchSize 8, no worker bounds): batch_size, max_batch_delay and
        // initial_workers act; its responseTimeout (the default, 120) wins over response_timeout.
        var registered = await Call(HttpMethod.Post, "/models?url=digits.mar&model_name=tuned&batch_size=4&max_batch_delay=7&response_timeout=33&initial_workers=2");
        Assert.Equal("Model \"tuned\" Version: 1.0 registered with 2 initial workers", registered.Json.GetProperty("status").GetString());
        var tuned = (await Call(HttpMethod.Get, "/models/tuned")).Json[0];
        Assert.Equal((4, 7, 120, 2, 2), (tuned.GetProperty("batchSize").GetInt32(), tuned.GetProperty("maxBatchDelay").GetInt32(),
            tuned.GetProperty("responseTimeout").GetInt32(), tuned.GetProperty("minWorkers").GetInt32(), tuned.GetProperty("workers").GetArrayLength()));

        // scalable.mar's model-config sets minWorkers 1, maxWorkers 4: they win over initial_workers.
        await Call(HttpMethod.Post, "/models?url=scalable-2.mar&initial_workers=3");
        var two = (await Call(HttpMethod.Get, "/models/scalable/2.0")).Json[0];
        Assert.Equal((1, 4, 1), (two.GetProperty("minWorkers").GetInt32(), two.GetProperty("maxWorkers").GetInt32(), two.GetProperty("workers").GetArrayLength()));

        // Without a model-config, response_timeout acts.
        await Call(HttpMethod.Post, "/models?url=bare.mar&response_timeout=33");
        Assert.Equal(33, (await Call(HttpMethod.Get, "/models/bare")).Json[0].GetProperty("responseTimeout").GetInt32());

        using var prediction = await Predict("/predictions/tuned", 9);
        Assert.Equal(9, (await prediction.Json()).GetProperty("digit").GetInt32());
    }

    [Theory]
    [InlineData("batch_size=0", "batch_size='0' must be a whole number of at least 1.")]
    [InlineData("max_batch_delay=-1", "max_batch_delay='-1' must be a whole number of at least 0.")]
    [InlineData("response_timeout=soon", "response_timeout='soon' must be a whole number of at least 1.")]
    [InlineData("initial_workers=-1", "initial_workers='-1' must be a whole number of at least 0.")]
    [InlineData("runtime=python4", "Invalid RuntimeType value: python4 (runtime is python, python3, LSP).")]

    [InlineData("synchronous=yes", "synchronous='yes' must be true or false.")]
    [InlineData("initial_workers=500", "Model 'x': min_worker=500 is more than this server's limit of 64 workers per model (MaxWorkersPerModel).")]
    public async Task Bad_register_parameters_are_400_naming_the_parameter(string parameter, string message)
    {
        AssertError(HttpStatusCode.BadRequest, "BadRequestException", message, await Call(HttpMethod.Post, $"/models?url=digits.mar&model_name=x&{parameter}"));
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, "/models/x")).Status);
    }

    [Fact]
    public async Task Register_with_synchronous_false_answers_202_and_the_model_becomes_ready()
    {
        var accepted = await Call(HttpMethod.Post, "/models?url=digits.mar&model_name=later&synchronous=false&initial_workers=2");

        Assert.Equal(HttpStatusCode.Accepted, accepted.Status);
        Assert.Equal("Processing worker updates...", accepted.Json.GetProperty("status").GetString());
        var first = (await Call(HttpMethod.Get, "/models/later")).Json[0];
        Assert.Contains(first.GetProperty("status").GetString(), new[] { "LOADING", "READY" }); // registered at once
        var ready = await DescribeWhen("/models/later", m => m.GetProperty("status").GetString() == "READY");
        Assert.All(ready.GetProperty("workers").EnumerateArray(), w => Assert.Equal("READY", w.GetProperty("status").GetString()));
        Assert.Equal(2, ready.GetProperty("workers").GetArrayLength());
        using var prediction = await Predict("/predictions/later", 4);
        Assert.Equal(4, (await prediction.Json()).GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task A_background_load_that_fails_is_described_as_FAILED_and_the_server_serves_on()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await Call(HttpMethod.Post, "/models?url=broken.mar&synchronous=false")).Status);

        var failed = await DescribeWhen("/models/broken", m => m.GetProperty("status").GetString() != "LOADING");
        Assert.Equal("FAILED", failed.GetProperty("status").GetString());
        Assert.StartsWith("Model 'broken': ONNX Runtime cannot load", failed.GetProperty("error").GetString());
        Assert.Equal(0, failed.GetProperty("workers").GetArrayLength());
        using (var refused = await Predict("/predictions/broken"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("failed to load", (await refused.Json()).GetProperty("message").GetString());
        }
        using (var others = await Predict("/predictions/digits", 3))
        {
            Assert.Equal(3, (await others.Json()).GetProperty("digit").GetInt32());
        }
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Delete, "/models/broken")).Status);
        // The same archive registered synchronously fails in the answer instead.
        var synchronous = await Call(HttpMethod.Post, "/models?url=broken.mar");
        Assert.Equal(HttpStatusCode.BadRequest, synchronous.Status);
        Assert.StartsWith("Model 'broken': ONNX Runtime cannot load", synchronous.Json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Describe_gives_each_worker_TorchServes_fields_and_its_device()
    {
        await Call(HttpMethod.Put, "/models/scalable?min_worker=2&synchronous=true");

        var model = (await Call(HttpMethod.Get, "/models/scalable")).Json[0];
        foreach (var field in new[] { "modelName", "modelVersion", "modelUrl", "runtime", "minWorkers", "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout", "startupTimeout", "loadedAtStartup", "workers", "jobQueueStatus" })
        {
            Assert.True(model.TryGetProperty(field, out _), field);
        }
        Assert.Equal(("python", "READY", true), (model.GetProperty("runtime").GetString(), model.GetProperty("status").GetString(), model.GetProperty("loadedAtStartup").GetBoolean()));
        var workers = model.GetProperty("workers").EnumerateArray().ToArray();
        Assert.Equal(2, workers.Length);
        Assert.Equal(2, workers.Select(w => w.GetProperty("id").GetString()).Distinct().Count());
        foreach (var worker in workers)
        {
            Assert.True(int.Parse(worker.GetProperty("id").GetString()!) >= 9000);
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", worker.GetProperty("startTime").GetString());
            Assert.Equal("READY", worker.GetProperty("status").GetString());
            Assert.True(worker.GetProperty("memoryUsage").GetInt64() > 0);
            Assert.Equal(Environment.ProcessId, worker.GetProperty("pid").GetInt32()); // workers are threads of the server's process
            Assert.False(worker.GetProperty("gpu").GetBoolean());
            Assert.Equal("N/A", worker.GetProperty("gpuUsage").GetString());
            Assert.Equal("cpu", worker.GetProperty("device").GetString());
        }
        // One copy of the model on the CPU, held by both workers and the per-request preprocess's handler.
        Assert.Equal(1, model.GetProperty("modelLoads").GetInt32());
        var copy = Assert.Single(model.GetProperty("modelCopies").EnumerateArray());
        Assert.Equal(("cpu", "onnxruntime", 3), (copy.GetProperty("device").GetString(), copy.GetProperty("backend").GetString(), copy.GetProperty("holders").GetInt32()));
        Assert.True(copy.GetProperty("fileBytes").GetInt64() > 0);
        Assert.True(copy.GetProperty("residentBytes").GetInt64() >= 0);
    }

    [Fact]
    public async Task The_Open_Inference_Protocol_reaches_the_version_asked_for()
    {
        await Call(HttpMethod.Post, "/models?url=scalable-2.mar");
        var image = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", "6.png")));
        var input = $$$"""{"name": "input-0", "datatype": "BYTES", "shape": [1], "data": ["{{{image}}}"], "parameters": {"content_type": "base64"}}""";
        var body = "{\"inputs\": [" + input + "]}";

        using var inferred = await _server.Inference(HttpMethod.Post, "/v2/models/scalable/versions/2.0/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        using var metadata = await _server.Inference(HttpMethod.Get, "/v2/models/scalable");
        using var missing = await _server.Inference(HttpMethod.Get, "/v2/models/scalable/versions/9.9/ready");

        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
        var answer = await inferred.Json();
        Assert.Equal("2.0", answer.GetProperty("model_version").GetString());
        Assert.Contains("\"digit\":6", answer.GetProperty("outputs")[0].GetProperty("data")[0].GetString());
        Assert.Equal(["1.0", "2.0"], (await metadata.Json()).GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Versions_registered_made_default_scaled_and_unregistered_under_traffic_lose_no_request()
    {
        // Each client sends one request at a time, so its answers are in the order the server took them.
        var statuses = new ConcurrentQueue<(int Client, HttpStatusCode Status, int Order)>();
        var order = 0;
        using var stop = new CancellationTokenSource();
        async Task Traffic(string path, int client)
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await Predict(path);
                statuses.Enqueue((client, response.StatusCode, Interlocked.Increment(ref order)));
            }
        }
        var traffic = new[]
        {
            Traffic("/predictions/scalable", 0), Traffic("/predictions/scalable", 1),
            Traffic("/predictions/scalable/1.0", 2), Traffic("/predictions/scalable/2.0", 3),
        };

        // Each step waits until every client has been answered since the last one, however slow the machine.
        async Task EveryClientAnswered()
        {
            var since = Volatile.Read(ref order);
            using var timeout = new CancellationTokenSource(Patience);
            while (Enumerable.Range(0, traffic.Length).Any(client => !statuses.Any(s => s.Client == client && s.Order > since)))
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        await EveryClientAnswered();
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Post, "/models?url=scalable-2.mar")).Status);
        await EveryClientAnswered();
        foreach (var path in new[] { "/models/scalable/2.0?min_worker=3&synchronous=true", "/models/scalable/1.0?min_worker=2&synchronous=true", "/models/scalable/2.0?min_worker=1&synchronous=true" })
        {
            Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Put, path)).Status);
            await EveryClientAnswered();
        }
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Put, "/models/scalable/2.0/set-default")).Status);
        await EveryClientAnswered();
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Delete, "/models/scalable/1.0")).Status);
        await EveryClientAnswered();
        stop.Cancel();
        await Task.WhenAll(traffic);

        HttpStatusCode[] Answers(int client) => [.. statuses.Where(s => s.Client == client).OrderBy(s => s.Order).Select(s => s.Status)];

        // The name without a version was answered every time, across the change of default and the unregistering.
        Assert.All(Answers(0).Concat(Answers(1)), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(Answers(0).Length + Answers(1).Length > 10);
        // Version 1.0: answered until it went, 404 after; version 2.0: 404 until it came, answered after.
        var one = Answers(2);
        var gone = Array.IndexOf(one, HttpStatusCode.NotFound);
        Assert.True(gone > 0, "version 1.0 served requests before it was unregistered");
        Assert.All(one[..gone], s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.All(one[gone..], s => Assert.Equal(HttpStatusCode.NotFound, s));
        var two = Answers(3);
        var came = Array.IndexOf(two, HttpStatusCode.OK);
        Assert.True(came > 0, "version 2.0 was asked for before and answered after it was registered");
        Assert.All(two[..came], s => Assert.Equal(HttpStatusCode.NotFound, s));
        Assert.All(two[came..], s => Assert.Equal(HttpStatusCode.OK, s));
    }

    [Fact]
    public async Task A_request_whose_version_is_unregistered_while_its_body_arrives_goes_to_the_new_default()
    {
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Post, "/models?url=scalable-2.mar")).Status);
        var image = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", "3.png"));
        var rest = new TaskCompletionSource();
        // The server finds the model when the headers arrive, then reads the body: half now, half once 1.0 is gone.
        var byDefault = _server.Inference(HttpMethod.Post, "/predictions/scalable", new SlowContent(image, rest.Task));
        var byVersion = _server.Inference(HttpMethod.Post, "/predictions/scalable/1.0", new SlowContent(image, rest.Task));
        await Task.Delay(300);

        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Put, "/models/scalable/2.0/set-default")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Call(HttpMethod.Delete, "/models/scalable/1.0")).Status);
        rest.SetResult();

        using var answered = await byDefault.WaitAsync(Patience);
        using var gone = await byVersion.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(3, (await answered.Json()).GetProperty("digit").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    /// <summary>A body sent in two halves, the second once <paramref name="rest"/> completes (chunked: no length known).</summary>
    private sealed class SlowContent(byte[] body, Task rest) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2));
            await stream.FlushAsync();
            await rest;
            await stream.WriteAsync(body.AsMemory(body.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>config.properties' defaults for what register leaves out, as TorchServe's RegisterModelRequest takes them.</summary>
public sealed class RegisterDefaultsTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync("default_workers_per_model=2\ndefault_response_timeout=45\njob_queue_size=7");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Register_without_parameters_takes_default_workers_per_model_and_default_response_timeout()
    {
        // An archive without a model-config: nothing of the archive's wins over the defaults.
        WriteArchiveWithoutModelConfig("bare");

        using var registered = await _server.Management(HttpMethod.Post, "/models?url=bare.mar");
        using var described = await _server.Management(HttpMethod.Get, "/models/bare");

        Assert.Equal("Model \"bare\" Version: 1.0 registered with 2 initial workers", (await registered.Json()).GetProperty("status").GetString());
        var model = (await described.Json())[0];
        Assert.Equal((2, 45), (model.GetProperty("workers").GetArrayLength(), model.GetProperty("responseTimeout").GetInt32()));
    }

    [Fact]
    public async Task Models_loaded_at_start_take_default_workers_per_model_unless_their_model_config_sets_workers()
    {
        // digits.mar's model-config sets batchSize and jobQueueSize only; scalable.mar's sets minWorkers 1, maxWorkers 4.
        using var digits = await _server.Management(HttpMethod.Get, "/models/digits");
        using var scalable = await _server.Management(HttpMethod.Get, "/models/scalable");

        var digitsModel = (await digits.Json())[0];
        var scalableModel = (await scalable.Json())[0];
        Assert.Equal((2, 2, 2), (digitsModel.GetProperty("workers").GetArrayLength(), digitsModel.GetProperty("minWorkers").GetInt32(), digitsModel.GetProperty("maxWorkers").GetInt32()));
        Assert.Equal((1, 1, 4), (scalableModel.GetProperty("workers").GetArrayLength(), scalableModel.GetProperty("minWorkers").GetInt32(), scalableModel.GetProperty("maxWorkers").GetInt32()));
    }

    /// <summary>Writes NAME.mar, the digits model with no model-config, into the server's model store.</summary>
    private void WriteArchiveWithoutModelConfig(string name) => ModelArchiveWriter.Write(new ArchiveSpec
    {
        ModelName = name,
        Version = "1.0",
        SerializedFile = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", "digits.onnx"),
        Handler = "digits",
        ExportPath = _server.Config.ModelStore!,
    }, DateTime.Now);

    [Fact]
    public async Task Job_queue_size_sizes_the_queue_of_models_whose_model_config_does_not_set_jobQueueSize()
    {
        // digits.mar's model-config sets jobQueueSize: 100 (it wins, as in TorchServe's wlm/Model);
        // scalable.mar's model-config does not set it, and a registered archive has no model-config.
        WriteArchiveWithoutModelConfig("queued");
        using var registered = await _server.Management(HttpMethod.Post, "/models?url=queued.mar&initial_workers=1");
        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);

        foreach (var (model, capacity) in new[] { ("digits", 100), ("scalable", 7), ("queued", 7) })
        {
            using var described = await _server.Management(HttpMethod.Get, $"/models/{model}");
            var queue = (await described.Json())[0].GetProperty("jobQueueStatus");
            Assert.Equal((model, capacity), (model, queue.GetProperty("remainingCapacity").GetInt32()));
        }
    }
}
