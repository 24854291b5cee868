using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>Every endpoint of the inference, management and metrics listeners, on 127.0.0.1.</summary>
public sealed class TorchServeApiTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync(@"allowed_urls=http://127\\.0\\.0\\.1:\\d+/allowed/.*");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_prediction_with_the_inference_key_is_answered()
    {
        using var response = await _server.Predict("digits", 3);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (await response.Json()).GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task Without_a_key_inference_and_management_are_401_and_ping_is_200()
    {
        using var prediction = await _server.Inference(HttpMethod.Post, "/predictions/digits", new ByteArrayContent([1]), key: null);
        using var models = await _server.Management(HttpMethod.Get, "/models", key: null);
        using var ping = await _server.Inference(HttpMethod.Get, "/ping", key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, prediction.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
    }

    [Fact]
    public async Task Each_API_answers_only_on_its_own_listener()
    {
        using var modelsOnInference = await _server.Inference(HttpMethod.Get, "/models", key: _server.ManagementKey);
        using var predictionOnManagement = await _server.Management(HttpMethod.Get, "/ping");
        using var metricsOnInference = await _server.Inference(HttpMethod.Get, "/metrics");

        Assert.Equal(HttpStatusCode.NotFound, modelsOnInference.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, predictionOnManagement.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, metricsOnInference.StatusCode);
    }

    [Fact]
    public async Task Describe_gives_TorchServes_fields()
    {
        using var response = await _server.Management(HttpMethod.Get, "/models/digits");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var model = (await response.Json())[0];
        Assert.Equal("digits", model.GetProperty("modelName").GetString());
        Assert.Equal("1.0", model.GetProperty("modelVersion").GetString());
        Assert.Equal("digits.mar", model.GetProperty("modelUrl").GetString());
        Assert.Equal(8, model.GetProperty("batchSize").GetInt32());
        Assert.True(model.GetProperty("loadedAtStartup").GetBoolean());
        // The archive's model-config sets no workers: one per core, TorchServe's default_workers_per_model.
        Assert.Equal(Environment.ProcessorCount, model.GetProperty("workers").GetArrayLength());
        Assert.All(model.GetProperty("workers").EnumerateArray(), worker => Assert.Equal("READY", worker.GetProperty("status").GetString()));

        foreach (var path in new[] { "/models/digits/1.0", "/models/digits/all" })
        {
            using var same = await _server.Management(HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        }
    }

    [Theory]
    [InlineData("/models/nope", "ModelNotFoundException", "Model not found: nope")]
    [InlineData("/models/digits/9.9", "ModelVersionNotFoundException", "Model version: 9.9 does not exist for model: digits")]
    public async Task An_unknown_model_or_version_is_404_with_TorchServes_error(string path, string type, string message)
    {
        using var response = await _server.Management(HttpMethod.Get, path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var json = await response.Json();
        Assert.Equal(404, json.GetProperty("code").GetInt32());
        Assert.Equal(type, json.GetProperty("type").GetString());
        Assert.Equal(message, json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Register_list_in_pages_and_unregister()
    {
        using (var registered = await _server.Management(HttpMethod.Post, "/models?url=scalable.mar&model_name=digits2&initial_workers=2"))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
            // scalable.mar's model-config sets minWorkers: 1, which wins over initial_workers as in TorchServe.
            Assert.Equal("Model \"digits2\" Version: 1.0 registered with 1 initial workers", (await registered.Json()).GetProperty("status").GetString());
        }
        using (var again = await _server.Management(HttpMethod.Post, "/models?url=digits.mar&model_name=digits2"))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }
        using (var prediction = await _server.Predict("digits2", 7))
        {
            Assert.Equal(7, (await prediction.Json()).GetProperty("digit").GetInt32());
        }

        using (var first = await _server.Management(HttpMethod.Get, "/models?limit=1"))
        {
            var json = await first.Json();
            Assert.Equal("digits", json.GetProperty("models")[0].GetProperty("modelName").GetString());
            Assert.Equal("digits.mar", json.GetProperty("models")[0].GetProperty("modelUrl").GetString());
            Assert.Equal("1", json.GetProperty("nextPageToken").GetString());
        }
        using (var second = await _server.Management(HttpMethod.Get, "/models?limit=1&next_page_token=1"))
        {
            var json = await second.Json();
            Assert.Equal("digits2", json.GetProperty("models")[0].GetProperty("modelName").GetString());
            Assert.Equal("2", json.GetProperty("nextPageToken").GetString());
        }
        using (var last = await _server.Management(HttpMethod.Get, "/models?limit=1&next_page_token=2"))
        {
            var json = await last.Json();
            Assert.Equal("scalable", json.GetProperty("models")[0].GetProperty("modelName").GetString());
            Assert.False(json.TryGetProperty("nextPageToken", out _));
        }

        using (var unregistered = await _server.Management(HttpMethod.Delete, "/models/digits2/1.0"))
        {
            Assert.Equal(HttpStatusCode.OK, unregistered.StatusCode);
            Assert.Equal("Model \"digits2\" unregistered", (await unregistered.Json()).GetProperty("status").GetString());
        }
        using (var gone = await _server.Predict("digits2"))
        {
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }
        using (var twice = await _server.Management(HttpMethod.Delete, "/models/digits2"))
        {
            Assert.Equal(HttpStatusCode.NotFound, twice.StatusCode);
        }
    }

    [Fact]
    public async Task Scale_changes_the_workers_described()
    {
        using (var scaled = await _server.Management(HttpMethod.Put, "/models/scalable?min_worker=3&max_worker=3&synchronous=true"))
        {
            Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
            Assert.Equal("Workers scaled to 3 for model: scalable", (await scaled.Json()).GetProperty("status").GetString());
        }
        using (var described = await _server.Management(HttpMethod.Get, "/models/scalable"))
        {
            Assert.Equal(3, (await described.Json())[0].GetProperty("workers").GetArrayLength());
        }
        using (var bad = await _server.Management(HttpMethod.Put, "/models/scalable?min_worker=lots"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("min_worker='lots'", (await bad.Json()).GetProperty("message").GetString());
        }
        using (var beyond = await _server.Management(HttpMethod.Put, "/models/digits?min_worker=65"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, beyond.StatusCode);
            Assert.Contains("limit of 64 workers per model", (await beyond.Json()).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Set_default_accepts_the_served_version_only()
    {
        using var served = await _server.Management(HttpMethod.Put, "/models/digits/1.0/set-default");
        using var other = await _server.Management(HttpMethod.Put, "/models/digits/2.0/set-default");

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("Default version successfully updated for model \"digits\" to \"1.0\"", (await served.Json()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Theory]
    [InlineData("../digits.mar", "'..' path segment")]
    [InlineData("/etc/passwd", "inside the model store")]
    [InlineData("ftp://example.com/x.mar", "matches none of allowed_urls")]
    [InlineData("", "url is required")]
    public async Task A_registration_url_outside_what_is_allowed_is_400(string url, string reason)
    {
        using var response = await _server.Management(HttpMethod.Post, "/models?url=" + Uri.EscapeDataString(url));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await response.Json()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_archive_is_registered_from_an_allowed_http_url_and_a_redirect_is_not_followed()
    {
        var mar = await File.ReadAllBytesAsync(_server.Temp["store/digits.mar"]);
        await using var files = await Serve.Tests.KestrelTestHost.StartAsync(Serve.Tests.KestrelTestHost.CreateBuilder(), app =>
        {
            app.MapGet("/allowed/digits.mar", () => Microsoft.AspNetCore.Http.Results.Bytes(mar, "application/octet-stream"));
            app.MapGet("/allowed/moved.mar", () => Microsoft.AspNetCore.Http.Results.Redirect("http://127.0.0.1:1/elsewhere/evil.mar"));
            app.MapGet("/elsewhere/digits.mar", () => Microsoft.AspNetCore.Http.Results.Bytes(mar, "application/octet-stream"));
        });
        var origin = files.Address.GetLeftPart(UriPartial.Authority);

        using (var registered = await _server.Management(HttpMethod.Post, "/models?model_name=fetched&url=" + Uri.EscapeDataString($"{origin}/allowed/digits.mar")))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }
        using (var prediction = await _server.Predict("fetched", 5))
        {
            Assert.Equal(5, (await prediction.Json()).GetProperty("digit").GetInt32());
        }
        using (var redirected = await _server.Management(HttpMethod.Post, "/models?model_name=moved&url=" + Uri.EscapeDataString($"{origin}/allowed/moved.mar")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, redirected.StatusCode);
            Assert.Contains("is not followed", (await redirected.Json()).GetProperty("message").GetString());
        }
        using (var outside = await _server.Management(HttpMethod.Post, "/models?model_name=x&url=" + Uri.EscapeDataString($"{origin}/elsewhere/digits.mar")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
            Assert.Contains("matches none of allowed_urls", (await outside.Json()).GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_zip_slip_archive_is_refused_and_writes_nothing_outside()
    {
        ArchiveBuilder.Zip(_server.Temp["store/slip.mar"], ("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), ("../../escaped.txt", "owned", 0));

        using var response = await _server.Management(HttpMethod.Post, "/models?url=slip.mar");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("outside the model directory", (await response.Json()).GetProperty("message").GetString());
        Assert.False(File.Exists(_server.Temp["escaped.txt"]));
        Assert.False(File.Exists(_server.Temp["work/../escaped.txt"]));
    }

    [Fact]
    public async Task An_archive_larger_unpacked_than_the_bound_is_refused()
    {
        ArchiveBuilder.Zip(_server.Temp["store/big.mar"], ("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), ("weights.onnx", new string('0', 2_000_000), 0));

        using var response = await _server.Management(HttpMethod.Post, "/models?url=big.mar");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("the limit is 1000000 bytes", (await response.Json()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_archive_naming_a_handler_not_compiled_in_is_400_at_registration()
    {
        ArchiveBuilder.Zip(_server.Temp["store/other.mar"], ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "other", "handler": "no_such_handler.py"}}""", 0));

        using var response = await _server.Management(HttpMethod.Post, "/models?url=other.mar");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'no_such_handler', which is not registered", (await response.Json()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_with_TorchServes_names()
    {
        using (var prediction = await _server.Predict("digits"))
        {
            Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
        }

        using var response = await _server.Metrics();
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Matches(@"(?m)^# TYPE ts_inference_requests_total counter$", text);
        Assert.Matches(@"(?m)^ts_inference_requests_total\{[^}]*model_name=""digits""[^}]*model_version=""1.0""[^}]*\} [1-9]", text);
        Assert.Matches(@"(?m)^ts_inference_latency_microseconds\{[^}]*model_name=""digits""[^}]*\} [0-9.e+]+", text);
    }

    [Fact]
    public async Task Register_scale_and_unregister_under_traffic_lose_no_request()
    {
        using (var registered = await _server.Management(HttpMethod.Post, "/models?url=digits.mar&model_name=busy"))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }
        // Each client sends one request at a time, so its answers are in the order the server took them.
        var statuses = new ConcurrentQueue<(string Model, int Client, HttpStatusCode Status, int Order)>();
        var order = 0;
        using var stop = new CancellationTokenSource();
        async Task Traffic(string model, int client)
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await _server.Predict(model);
                statuses.Enqueue((model, client, response.StatusCode, Interlocked.Increment(ref order)));
            }
        }
        var traffic = new[] { Traffic("scalable", 0), Traffic("scalable", 1), Traffic("busy", 2), Traffic("busy", 3), Traffic("late", 4) };

        await Task.Delay(200);
        using (var registered = await _server.Management(HttpMethod.Post, "/models?url=digits.mar&model_name=late"))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }
        foreach (var path in new[] { "/models/scalable?min_worker=3&synchronous=true", "/models/scalable?min_worker=1&synchronous=true", "/models/scalable?min_worker=4&synchronous=true" })
        {
            using var scaled = await _server.Management(HttpMethod.Put, path);
            Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
            await Task.Delay(100);
        }
        using (var unregistered = await _server.Management(HttpMethod.Delete, "/models/busy"))
        {
            Assert.Equal(HttpStatusCode.OK, unregistered.StatusCode);
        }
        await Task.Delay(200);
        stop.Cancel();
        await Task.WhenAll(traffic);

        HttpStatusCode[] Answers(int client) => [.. statuses.Where(s => s.Client == client).OrderBy(s => s.Order).Select(s => s.Status)];

        // Every request to the model being scaled was answered.
        Assert.All(Answers(0).Concat(Answers(1)), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(Answers(0).Length + Answers(1).Length > 10);
        // The model unregistered answered every request until it went, and 404 after; never a failure.
        foreach (var client in new[] { 2, 3 })
        {
            var busy = Answers(client);
            var firstGone = Array.IndexOf(busy, HttpStatusCode.NotFound);
            Assert.True(firstGone > 0, "the model served requests before it was unregistered");
            Assert.All(busy[..firstGone], s => Assert.Equal(HttpStatusCode.OK, s));
            Assert.All(busy[firstGone..], s => Assert.Equal(HttpStatusCode.NotFound, s));
        }
        // The model registered under traffic: 404 until it was there, then answered every time.
        var late = Answers(4);
        var firstServed = Array.IndexOf(late, HttpStatusCode.OK);
        Assert.True(firstServed > 0, "the model registered under traffic was asked for before and answered after");
        Assert.All(late[..firstServed], s => Assert.Equal(HttpStatusCode.NotFound, s));
        Assert.All(late[firstServed..], s => Assert.Equal(HttpStatusCode.OK, s));
    }
}

/// <summary>The safe defaults: model API off (405), as TorchServe's model API control.</summary>
public sealed class ModelApiDisabledTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;

    public async Task InitializeAsync() => _server = await TorchServeServer.StartAsync("enable_model_api=false\ndisable_token_authorization=true");

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("POST", "/models?url=digits.mar&model_name=x")]
    [InlineData("DELETE", "/models/digits")]
    public async Task Register_and_unregister_are_405_unless_enabled(string method, string path)
    {
        using var response = await _server.Management(new HttpMethod(method), path, key: null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("MethodNotAllowedException", (await response.Json()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Without_token_authorization_no_key_is_needed()
    {
        using var prediction = await _server.Predict("digits");
        using var models = await _server.Management(HttpMethod.Get, "/models", key: null);

        Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }
}
