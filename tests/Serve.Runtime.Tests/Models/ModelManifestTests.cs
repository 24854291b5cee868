using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Models;

public sealed class ModelManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-manifest-").FullName;

    [Fact]
    public void Reads_a_manifest_as_torch_model_archiver_writes_it()
    {
        Write("""{"createdOn":"11/04/2024 10:00:00","runtime":"python","model":{"modelName":"noop","serializedFile":"model.pt","handler":"service.py","modelVersion":"1.11"},"archiverVersion":"0.2.0"}""");

        var manifest = ModelManifest.Read(_directory);

        Assert.Equal(("noop", "1.11", "model.pt", "service.py", "python", "0.2.0"),
            (manifest.ModelName, manifest.ModelVersion, manifest.SerializedFile, manifest.Handler, manifest.Runtime, manifest.ArchiverVersion));
        Assert.Null(manifest.ConfigFile);
    }

    [Theory]
    [InlineData("{not json", "is not valid JSON")]
    [InlineData("""{"runtime":"python"}""", "has no \"model\" object")]
    [InlineData("""{"model":{"serializedFile":"m.onnx"}}""", "has no \"model.modelName\"")]
    [InlineData("""{"model":{"modelName":"m","modelVersion":2}}""", "has \"modelVersion\" as Number; it must be a string")]
    public void A_bad_manifest_says_what_is_wrong(string json, string message)
    {
        Write(json);
        var error = Assert.Throws<ModelLoadException>(() => ModelManifest.Read(_directory));
        Assert.Contains(message, error.Message);
        Assert.Contains("MANIFEST.json", error.Message);
    }

    [Fact]
    public void A_missing_manifest_names_the_path()
    {
        var error = Assert.Throws<ModelLoadException>(() => ModelManifest.Read(_directory));
        Assert.Contains(Path.Combine(_directory, "MAR-INF", "MANIFEST.json"), error.Message);
    }

    private void Write(string json)
    {
        Directory.CreateDirectory(Path.Combine(_directory, "MAR-INF"));
        File.WriteAllText(Path.Combine(_directory, "MAR-INF", "MANIFEST.json"), json);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
