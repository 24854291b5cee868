using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// Registration through the management API of a real server, as an attacker would try it: disk
/// comes back on every path (item 3), names that no URL can address never register (item 5),
/// archive paths stay inside the archive (item 8), URLs are safe by default (item 9), bad input is
/// a 4xx (item 10), and the server still predicts after each.
/// </summary>
public sealed class RegistrationHardeningTests : IAsyncLifetime
{
    private TorchServeServer _server = null!;
    private string Store => _server.Config.ModelStore!;
    private string Work => _server.Temp["work"];

    public async Task InitializeAsync()
    {
        _server = await TorchServeServer.StartAsync();
        // Names the digits handler, but its model file is not ONNX: its workers fail to initialize.
        ArchiveBuilder.Zip(Path.Combine(Store, "broken.mar"),
            ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "broken", "modelVersion": "1.0", "serializedFile": "digits.onnx", "handler": "digits"}}""", 0),
            ("digits.onnx", "not a model", 0));
        ArchiveBuilder.Zip(Path.Combine(Store, "not-a-zip.mar"), ("x", "y", 0));
        File.WriteAllText(Path.Combine(Store, "garbage.mar"), "not a zip at all");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body)> Register(string query)
    {
        using var response = await _server.Management(HttpMethod.Post, "/models?" + query);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static long Bytes(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    private async Task AssertStillPredicts()
    {
        using var response = await _server.Predict("digits");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task After_100_cycles_over_every_path_the_work_directory_holds_only_the_start_models()
    {
        var atStart = Bytes(Work);
        for (var i = 0; i < 100; i++)
        {
            var name = $"cycle{i % 3}";
            switch (i % 5)
            {
                case 0 or 1: // success, then a 409 for the same name and version, then unregister
                    Assert.Equal(HttpStatusCode.OK, (await Register($"url=scalable.mar&model_name={name}")).Status);
                    Assert.Equal(HttpStatusCode.Conflict, (await Register($"url=scalable.mar&model_name={name}")).Status);
                    using (var unregister = await _server.Management(HttpMethod.Delete, $"/models/{name}"))
                    {
                        Assert.Equal(HttpStatusCode.OK, unregister.StatusCode);
                    }
                    break;
                case 2: // a failed load
                    Assert.Equal(HttpStatusCode.BadRequest, (await Register("url=broken.mar")).Status);
                    break;
                case 3: // archives that are not archives
                    Assert.Equal(HttpStatusCode.BadRequest, (await Register("url=not-a-zip.mar")).Status);
                    Assert.Equal(HttpStatusCode.BadRequest, (await Register("url=garbage.mar")).Status);
                    break;
                case 4: // a name no URL can address, refused after unpacking
                    Assert.Equal(HttpStatusCode.BadRequest, (await Register("url=scalable.mar&model_name=z%2F0")).Status);
                    break;
            }
        }

        Assert.Equal(atStart, Bytes(Work));
        Assert.Equal(2, Directory.EnumerateDirectories(Work).Count()); // digits and scalable, loaded at start
        await AssertStillPredicts();
    }

    [Theory]
    [InlineData("z%2F0")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a%00b")]
    [InlineData("%2E%2E%2F%2E%2E%2Fevil")]
    [InlineData("sp%20ace")]
    public async Task A_model_name_no_url_can_address_is_refused_with_400(string name)
    {
        var (status, body) = await Register($"url=scalable.mar&model_name={name}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model name", body);
        using var models = await _server.Management(HttpMethod.Get, "/models");
        Assert.DoesNotContain("evil", await models.Content.ReadAsStringAsync());
        await AssertStillPredicts();
    }

    [Theory]
    [InlineData("../../evil", "serializedFile\": \"digits.onnx", "model name")]
    [InlineData("ok", "serializedFile\": \"/etc/hostname", "inside its own directory")]
    [InlineData("ok", "serializedFile\": \"../../../../../../etc/hostname", "inside its own directory")]
    [InlineData("ok", "configFile\": \"../../key_file.json", "inside its own directory")]
    public async Task A_hostile_manifest_is_refused_with_400(string name, string field, string message)
    {
        ArchiveBuilder.Zip(Path.Combine(Store, "hostile.mar"),
            ("MAR-INF/MANIFEST.json", "{\"model\": {\"modelName\": \"" + name + "\", \"modelVersion\": \"1.0\", \"handler\": \"digits\", \"" + field + "\"}}", 0),
            ("digits.onnx", "x", 0));

        var (status, body) = await Register("url=hostile.mar");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body);
        await AssertStillPredicts();
    }

    [Theory]
    [InlineData("nest", 100_000)]
    [InlineData("alias", 0)]
    public async Task A_model_config_bomb_is_refused_with_400_naming_the_limit(string kind, int depth)
    {
        var yaml = kind == "nest"
            ? "handler: " + new string('[', depth) + new string(']', depth)
            : "onnx:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, 8).Select(i => $"  l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 6))}]\n"));
        ArchiveBuilder.Zip(Path.Combine(Store, "bomb.mar"),
            ("MAR-INF/MANIFEST.json", """{"model": {"modelName": "bomb", "modelVersion": "1.0", "handler": "digits", "serializedFile": "digits.onnx", "configFile": "model-config.yaml"}}""", 0),
            ("model-config.yaml", yaml, 0),
            ("digits.onnx", "x", 0));

        var (status, body) = await Register("url=bomb.mar");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(kind == "nest" ? "model-config nesting depth" : "model-config values", body);
        await AssertStillPredicts();
    }

    [Theory]
    [InlineData("url=m.mar%00.txt", "NUL")]
    [InlineData("url=http://127.0.0.1:1/x.mar", "allowed_urls")]
    [InlineData("url=http://localhost:1/x.mar", "allowed_urls")]
    [InlineData("url=http://169.254.169.254/latest/x.mar", "allowed_urls")]
    [InlineData("url=file:///etc/passwd", "inside the model store")]
    [InlineData("url=file:///no/such/file.mar", "inside the model store")]
    [InlineData("url=file:///dev/zero", "inside the model store")]
    public async Task An_unsafe_url_is_refused_with_400_and_the_same_words_whether_or_not_the_file_exists(string query, string message)
    {
        var (status, body) = await Register(query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, body);
        Assert.DoesNotContain("broken", body);
        await AssertStillPredicts();
    }

    [Fact]
    public async Task A_fifo_in_the_model_store_is_refused_without_hanging()
    {
        var fifo = Path.Combine(Store, "fifo.mar");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
        }

        var registering = Register("url=fifo.mar");
        var finished = await Task.WhenAny(registering, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.Same(registering, finished);
        Assert.Equal(HttpStatusCode.BadRequest, (await registering).Status);
        Assert.Contains("not a regular file", (await registering).Body);
    }

    [Fact]
    public async Task A_download_from_the_servers_own_listener_is_refused_and_leaves_nothing()
    {
        var own = new Uri(_server.Config.ManagementAddress, "/models").ToString();

        var (status, body) = await Register("url=" + Uri.EscapeDataString(own));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("allowed_urls", body);
        Assert.Equal(2, Directory.EnumerateDirectories(Work).Count());
    }
}
