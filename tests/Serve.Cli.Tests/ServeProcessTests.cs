using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.Cli.Tests;

/// <summary>The `serve` tool as a process: start in the background, answer, stop; and a start that cannot work, told in words.</summary>
public sealed class ServeProcessTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private Task<(int Code, string Output, string Error)> Serve(params string[] args) => ServeProcess.RunAsync(_temp, null, args);

    /// <summary>logs/serve.log once it holds every one of <paramref name="lines"/>, or as it is when <paramref name="within"/> runs out.</summary>
    private async Task<string> LogWithin(TimeSpan within, params string[] lines)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var log = File.Exists(_temp["logs/serve.log"]) ? File.ReadAllText(_temp["logs/serve.log"]) : "";
            if (Array.TrueForAll(lines, log.Contains) || DateTime.UtcNow > deadline)
            {
                return log;
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Start_in_the_background_serves_until_stop()
    {
        var (port, _) = ServeProcess.WriteConfig(_temp);

        var started = await Serve("start", "--ts-config", "config.properties");
        Assert.True(started.Code == 0, started.Error);
        Assert.Contains("Server started", started.Output);
        try
        {
            using var client = new HttpClient();
            using var ping = await client.GetAsync($"http://127.0.0.1:{port}/ping");
            Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
            Assert.True(File.Exists(_temp["key_file.json"]), "token authorization is on by default and writes key_file.json");
        }
        finally
        {
            var stopped = await Serve("stop");
            Assert.True(stopped.Code == 0, stopped.Error);
        }
        Assert.False(File.Exists(_temp["key_file.json"]), "the keys are deleted when the server stops");
        Assert.Contains("no server is running", (await Serve("stop")).Error);
    }

    // TorchServe's archives hold TorchScript more often than ONNX: the tool serves both.
    [Theory]
    [InlineData("classifier.onnx")]
    [InlineData("classifier.pt")]
    public async Task The_serve_tool_archives_and_serves_a_built_in_handler_as_TorchServe_would(string model)
    {
        var vision = Path.Combine(AppContext.BaseDirectory, "fixtures", "vision");
        var archived = await Serve("archive", "--model-name", "classifier", "--version", "1.0", "--handler", "image_classifier",
            "--serialized-file", Path.Combine(vision, model), "--extra-files", Path.Combine(vision, "index_to_name.json"), "--export-path", "store");
        Assert.True(archived.Code == 0, archived.Error);
        var (port, _) = ServeProcess.WriteConfig(_temp, "load_models=all\ndisable_token_authorization=true");

        var started = await Serve("start", "--ts-config", "config.properties", "--model-store", "store");
        Assert.True(started.Code == 0, started.Error + File.ReadAllText(_temp["logs/serve.log"]));
        // In the background, the progress a person follows in the foreground is in the log: the unpacking, each handler's initialize, the model ready.
        var log = File.ReadAllText(_temp["logs/serve.log"]);
        Assert.Matches(@"Unpacking classifier\.mar \([0-9.]+ MB\) \.\.\.", log);
        Assert.Matches(@"Unpacked classifier\.mar: [0-9.]+ MB in \d+ ms", log);
        // No model-config and no default_workers_per_model: TorchServe's default, one worker per core.
        var workers = Environment.ProcessorCount;
        Assert.Contains($"Loading model classifier version 1.0: starting {workers} workers", log);
        Assert.Matches(@"Model classifier version 1\.0: worker 0 initialized on cpu in \d+ ms", log);
        Assert.Matches($@"Serving model classifier 1\.0 with handler image_classifier: {workers} workers, .*; loaded in \d+ ms", log);
        await ServeProcess.CheckThenStopAsync(_temp, async () =>
        {
            using var client = new HttpClient();
            using var response = await client.PostAsync($"http://127.0.0.1:{port}/predictions/classifier", new ByteArrayContent(File.ReadAllBytes(Path.Combine(vision, "china.jpg"))));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var answer = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            using var expected = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(vision, "expected.json")));
            // TorchServe's top-5 for this image, as torchvision computed it (tests/fixtures/vision).
            foreach (var top in expected.RootElement.GetProperty("china.jpg").EnumerateObject())
            {
                Assert.Equal(top.Value.GetDouble(), answer.RootElement.GetProperty(top.Name).GetDouble(), 4);
            }
        });
    }

    [Fact]
    public async Task A_broken_archive_beside_a_good_one_is_reported_and_the_good_one_serves()
    {
        var vision = Path.Combine(AppContext.BaseDirectory, "fixtures", "vision");
        var archived = await Serve("archive", "--model-name", "classifier", "--version", "1.0", "--handler", "image_classifier",
            "--serialized-file", Path.Combine(vision, "classifier.onnx"), "--extra-files", Path.Combine(vision, "index_to_name.json"), "--export-path", "store");
        Assert.True(archived.Code == 0, archived.Error);
        File.WriteAllText(_temp["store/corrupt.mar"], "not an archive");
        var (port, management) = ServeProcess.WriteConfig(_temp, "load_models=all\ndisable_token_authorization=true");

        var started = await Serve("start", "--ts-config", "config.properties", "--model-store", "store");
        await ServeProcess.CheckThenStopAsync(_temp, async () =>
        {
            // The server's standard output and error reach the log through two pipes: the start
            // returns on the "Serving" line, and the error line may land a moment later.
            var log = await LogWithin(TimeSpan.FromSeconds(10), "corrupt.mar cannot be served:",
                "serve start: model corrupt failed to load and is not served:", "Serving 1 model(s) (1 failed)");
            Assert.True(started.Code == 0, started.Error + log);
            Assert.Contains("corrupt.mar cannot be served:", log);
            Assert.Contains("serve start: model corrupt failed to load and is not served:", log);
            Assert.Contains("Serving 1 model(s) (1 failed)", log);
            using var client = new HttpClient();
            using (var response = await client.PostAsync($"http://127.0.0.1:{port}/predictions/classifier", new ByteArrayContent(File.ReadAllBytes(Path.Combine(vision, "china.jpg")))))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            var described = await client.GetStringAsync($"http://127.0.0.1:{management}/models/corrupt");
            Assert.Contains("\"status\": \"FAILED\"", described);
            // A model listed FAILED makes the server Unhealthy (TorchServe's ping rule); start says so and returns.
            using var ping = await client.GetAsync($"http://127.0.0.1:{port}/ping");
            Assert.Equal((HttpStatusCode.InternalServerError, """{"status":"Unhealthy"}"""), (ping.StatusCode, await ping.Content.ReadAsStringAsync()));
            Assert.Contains("Server started", started.Output);
            Assert.Contains("serve start: the server is Unhealthy", started.Error);
        });
    }

    [Fact]
    public async Task A_start_whose_every_model_fails_stops_naming_each_and_why()
    {
        Directory.CreateDirectory(_temp["store"]);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", "digits.mar"), _temp["store/digits.mar"]);
        ServeProcess.WriteConfig(_temp);

        var (code, _, error) = await Serve("start", "--foreground", "--ts-config", "config.properties", "--model-store", "store", "--models", "all", "--disable-token-auth");

        Assert.Equal(1, code);
        Assert.Contains("model digits failed to load and is not served: Model 'digits' asks for handler 'digits', which is not registered", error);
        Assert.Contains("no model could be served; stopping.", error);
    }

    [Fact]
    public async Task A_missing_archive_lists_what_the_store_holds()
    {
        Directory.CreateDirectory(_temp["store"]);
        File.WriteAllText(_temp["store/a.mar"], "");

        var (code, _, error) = await Serve("start", "--model-store", "store", "--models", "b=b.mar");

        Assert.Equal(1, code);
        Assert.Contains("'b.mar' is not in the model store", error);
        Assert.Contains("it holds: a.mar", error);
    }
}
