using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// Loading a model directory refuses a model name or version that no URL can address, whether it
/// comes from the manifest or the options (issue 23 item 5).
/// </summary>
public sealed class ModelDirectoryPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("serve-paths-").FullName;
    private string Model => Path.Combine(_root, "model");

    public ModelDirectoryPathTests() => Directory.CreateDirectory(Path.Combine(Model, "MAR-INF"));

    private void Manifest(string field, string value, string name = "m") =>
        File.WriteAllText(Path.Combine(Model, ModelManifest.RelativePath),
            "{\"model\": {\"modelName\": " + Json(name) + ", \"handler\": \"h\", \"" + field + "\": " + Json(value) + "}}");

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    [Theory]
    [InlineData("z/0")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../../evil")]
    [InlineData("a\0b")]
    [InlineData("-leading-dash")]
    [InlineData("spa ce")]
    [InlineData("perc%2F")]
    [InlineData("ünïcode")]
    public void Names_no_url_can_address_are_refused_from_the_manifest_or_the_options(string name)
    {
        Manifest("serializedFile", "model.onnx", name);

        var error = Assert.Throws<ModelLoadException>(() => ModelDirectory.Read(new ModelOptions { Name = ModelManifest.Read(Model).ModelName, Path = Model }));

        Assert.Contains("model name", error.Message);
        Assert.Contains("letters, digits", error.Message);
    }

    [Fact]
    public void A_version_no_url_can_address_is_refused()
    {
        File.WriteAllText(Path.Combine(Model, ModelManifest.RelativePath), """{"model": {"modelName": "m", "modelVersion": "1/../2", "handler": "h"}}""");

        var error = Assert.Throws<ModelLoadException>(() => ModelDirectory.Read(new ModelOptions { Name = "m", Path = Model }));

        Assert.Contains("model version", error.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
