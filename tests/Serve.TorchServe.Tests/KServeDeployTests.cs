using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Serve.Tests;
using YamlDotNet.RepresentationModel;

namespace Serve.TorchServe.Tests;

/// <summary>
/// Keeps deploy/kserve honest without a cluster or docker: the config parses with no unknown key,
/// the manifests agree with each other and with the config's ports, and the image's ENTRYPOINT
/// arguments, run against the same layout in a temporary /mnt/models, start a server that answers
/// KServe's probes.
/// </summary>
public sealed class KServeDeployTests : IDisposable
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "deploy", "kserve");
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SourceGen.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("The tests run inside the repository.");
    }

    private static YamlMappingNode Manifest(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Deploy, file));
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlNode At(YamlNode node, params object[] path) =>
        path.Aggregate(node, (current, step) => step is int index ? ((YamlSequenceNode)current)[index] : ((YamlMappingNode)current)[(string)step]);

    private static string Text(YamlNode node, params object[] path) => ((YamlScalarNode)At(node, path)).Value!;

    private static TorchServeConfig Config() => TorchServeConfig.Read(Path.Combine(Deploy, "config.properties"));

    /// <summary>The arguments the image's ENTRYPOINT passes to the app, as written in the Dockerfile.</summary>
    private static string[] EntrypointArguments()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        var entrypoint = JsonSerializer.Deserialize<string[]>(Regex.Match(dockerfile, @"(?m)^ENTRYPOINT (\[.*\])$").Groups[1].Value)!;
        var command = Regex.Match(entrypoint[2], @"exec dotnet /app/\$APP\.dll (.*) ""\$@""").Groups[1].Value;
        return command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void The_config_parses_with_no_key_ignored()
    {
        var config = Config();

        Assert.Empty(config.Ignored);
        Assert.Equal("all", config.LoadModels);
    }

    [Fact]
    public void The_serving_runtime_probes_and_scrapes_the_ports_the_config_listens_on()
    {
        var config = Config();
        var runtime = Manifest("serving-runtime.yaml");
        var container = At(runtime, "spec", "containers", 0);

        Assert.Equal("ServingRuntime", Text(runtime, "kind"));
        Assert.Equal(config.InferenceAddress.Port.ToString(), Text(container, "ports", 0, "containerPort"));
        Assert.Equal(config.InferenceAddress.Port.ToString(), Text(container, "readinessProbe", "httpGet", "port"));
        Assert.Equal(config.InferenceAddress.Port.ToString(), Text(container, "livenessProbe", "httpGet", "port"));
        // /ping is 500 while a model failed to load (as TorchServe's): a liveness probe on it would restart the pod in a loop.
        Assert.Equal(("/v2/health/ready", "/v2/health/live"), (Text(container, "readinessProbe", "httpGet", "path"), Text(container, "livenessProbe", "httpGet", "path")));
        Assert.Equal(config.MetricsAddress.Port.ToString(), Text(runtime, "spec", "annotations", "prometheus.kserve.io/port"));
        Assert.Equal("/metrics", Text(runtime, "spec", "annotations", "prometheus.kserve.io/path"));
        Assert.Equal("0.0.0.0", config.InferenceAddress.Host);
        Assert.Equal("127.0.0.1", config.ManagementAddress.Host);
        Assert.False(((YamlMappingNode)container).Children.ContainsKey("args"), "the image's ENTRYPOINT gives the arguments (checked below)");
    }

    [Fact]
    public void The_inference_service_names_the_runtime_a_format_it_supports_and_protocol_v2()
    {
        var runtime = Manifest("serving-runtime.yaml");
        var service = Manifest("inference-service.yaml");
        var model = At(service, "spec", "predictor", "model");

        Assert.Equal("InferenceService", Text(service, "kind"));
        Assert.Equal(Text(runtime, "metadata", "name"), Text(model, "runtime"));
        Assert.Equal("v2", Text(model, "protocolVersion"));
        Assert.Contains("v2", ((YamlSequenceNode)At(runtime, "spec", "protocolVersions")).Select(node => ((YamlScalarNode)node).Value));
        Assert.Contains(Text(model, "modelFormat", "name"),
            ((YamlSequenceNode)At(runtime, "spec", "supportedModelFormats")).Select(format => Text(format, "name")));
    }

    [Fact]
    public async Task The_images_entrypoint_arguments_start_a_server_that_answers_KServes_probes()
    {
        // The layout KServe's storage initializer makes, under a temporary directory instead of /mnt/models.
        var models = _temp["mnt/models"];
        Directory.CreateDirectory(Path.Combine(models, "config"));
        Directory.CreateDirectory(Path.Combine(models, "model-store"));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", "digits.mar"), Path.Combine(models, "model-store", "digits.mar"));
        // The shipped config, on free ports and 127.0.0.1 (tests touch nothing else).
        int inference = FreePort.Next(), metrics = FreePort.Next();
        var config = File.ReadAllText(Path.Combine(Deploy, "config.properties"))
            .Replace("0.0.0.0:8080", $"127.0.0.1:{inference}").Replace("127.0.0.1:8081", $"127.0.0.1:{FreePort.Next()}").Replace("0.0.0.0:8082", $"127.0.0.1:{metrics}");
        File.WriteAllText(Path.Combine(models, "config", "config.properties"), config);
        var arguments = EntrypointArguments().Select(argument => argument.Replace("/mnt/models", models)).ToArray();
        Assert.Equal(["start", "--foreground", "--ts-config", "--model-store"], arguments.Where(a => !a.StartsWith('/')).ToArray());

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _temp.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Digits.dll")); // the image's APP=Digits
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var server = Process.Start(start)!;
        var output = server.StandardOutput.ReadToEndAsync();
        var error = server.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient();
            var ready = false;
            for (var attempt = 0; attempt < 120 && !ready && !server.HasExited; attempt++)
            {
                try
                {
                    using var probe = await client.GetAsync($"http://127.0.0.1:{inference}/v2/health/ready");
                    ready = probe.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                }
                if (!ready)
                {
                    await Task.Delay(250);
                }
            }
            Assert.True(ready, "the server never became ready");
            using var ping = await client.GetAsync($"http://127.0.0.1:{inference}/ping");
            using var live = await client.GetAsync($"http://127.0.0.1:{inference}/v2/health/live");
            using var infer = await client.PostAsync($"http://127.0.0.1:{inference}/predictions/digits",
                new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", "3.png"))));
            using var scrape = await client.GetAsync($"http://127.0.0.1:{metrics}/metrics");
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (ping.StatusCode, live.StatusCode));
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode); // token authorization is off in the shipped config
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(); // the process this test started, by its handle
            }
            await server.WaitForExitAsync();
        }
        Assert.DoesNotContain("ignoring", await error + await output);
    }
}
