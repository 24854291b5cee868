using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Tests;

namespace Serve.Torch.Tests;

/// <summary>Real Kestrel on 127.0.0.1 serving tiny.torchscript.pt through TinyHandler, as the digits sample serves ONNX.</summary>
public sealed class TorchScriptServer : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-torchscript-").FullName;
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        File.Copy(Fixtures.File("tiny.torchscript.pt"), Path.Combine(_directory, "tiny.pt"));
        await File.WriteAllTextAsync(Path.Combine(_directory, "index_to_name.json"), """{"0": ["n0001", "circle"], "1": "square", "2": ["n0003", "cross"]}""");
        await File.WriteAllTextAsync(Path.Combine(_directory, "model-config.yaml"), "batchSize: 8\n");

        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Services
            .AddServe(options => options.Models.Add(new ModelOptions { Name = "tiny", Path = _directory }))
            .AddTorchSharp()
            .AddServeHandlers();
        _host = await KestrelTestHost.StartAsync(builder, app => app.MapServeEndpoints());
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }
}

public class TorchScriptOverHttpTests(TorchScriptServer server) : IClassFixture<TorchScriptServer>
{
    [Fact]
    public async Task Each_image_gets_pytorchs_logits_and_the_labelled_top_class()
    {
        var reference = Fixtures.Tiny;
        var classes = (int)reference.OutputShape[1];
        var answers = await Task.WhenAll(Enumerable.Range(0, (int)reference.InputShape[0]).Select(async i =>
        {
            var body = JsonSerializer.Serialize(reference.Input.Skip(i * 64).Take(64).ToArray());
            using var response = await server.Client.PostAsync("/predictions/tiny", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (i, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
        }));

        string[] names = ["circle", "square", "cross"];
        foreach (var (i, answer) in answers)
        {
            var logits = answer.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var expected = reference.Output.Skip(i * classes).Take(classes).ToArray();
            Assert.InRange(Fixtures.MaxAbsDifference(logits, expected), 0f, ModelFormatTests.Tolerance);
            Assert.Equal(names[Array.IndexOf(expected, expected.Max())], answer.GetProperty("label").GetString());
        }
    }

    [Fact]
    public async Task A_body_of_the_wrong_size_is_a_400_naming_the_problem()
    {
        using var response = await server.Client.PostAsync("/predictions/tiny", new StringContent("[1, 2, 3]"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("The body must be a JSON array of 64 numbers, not 3.", await response.Content.ReadAsStringAsync());
    }
}
