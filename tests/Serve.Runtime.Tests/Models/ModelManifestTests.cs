using System;
using System.IO;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Models;

/// <summary>MANIFEST.json: TorchServe's shape, defaults, nulls, extra fields, and errors that say what is wrong.</summary>
public sealed class ModelManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-manifest-fields-").FullName;

    [Fact]
    public void Reads_every_field_and_ignores_ones_it_does_not_know()
    {
        Write("""
            {
              "createdOn": "23/11/2026 08:00:00",
              "runtime": "python",
              "model": {
                "modelName": "resnet-18",
                "serializedFile": "resnet-18.pt",
                "handler": "image_classifier",
                "modelVersion": "2.0",
                "configFile": "model-config.yaml",
                "requirementsFile": "requirements.txt"
              },
              "archiverVersion": "0.12.0",
              "userDefined": {"anything": [1, 2]}
            }
            """);

        var manifest = ModelManifest.Read(_directory);

        Assert.Equal(new ModelManifest
        {
            ModelName = "resnet-18",
            ModelVersion = "2.0",
            SerializedFile = "resnet-18.pt",
            Handler = "image_classifier",
            ConfigFile = "model-config.yaml",
            Runtime = "python",
            CreatedOn = "23/11/2026 08:00:00",
            ArchiverVersion = "0.12.0",
        }, manifest);
    }

    [Fact]
    public void Absent_and_null_fields_take_their_defaults()
    {
        Write("""{"model":{"modelName":"m","modelVersion":null,"serializedFile":null}}""");

        var manifest = ModelManifest.Read(_directory);

        Assert.Equal("m", manifest.ModelName);
        Assert.Equal("1.0", manifest.ModelVersion);
        Assert.Equal("python", manifest.Runtime);
        Assert.Null(manifest.SerializedFile);
        Assert.Null(manifest.Handler);
        Assert.Null(manifest.ConfigFile);
    }

    [Theory]
    [InlineData("{not json", "is not valid JSON")]
    [InlineData("""{"runtime":"python"}""", "has no \"model\" object")]
    [InlineData("""{"model":{"serializedFile":"m.onnx"}}""", "has no \"model.modelName\"")]
    [InlineData("""{"model":{"modelName":"m","modelVersion":2}}""", "has \"modelVersion\" as Number; it must be a string")]
    [InlineData("""{"model":{"modelName":"   "}}""", "has no \"model.modelName\"")]
    [InlineData("""{"model":{"modelName":7}}""", "has \"modelName\" as Number; it must be a string")]
    [InlineData("""{"model":{"modelName":"m","handler":{"file":"x.py"}}}""", "has \"handler\" as Object; it must be a string")]
    [InlineData("""{"runtime":["python"],"model":{"modelName":"m"}}""", "has \"runtime\" as Array; it must be a string")]
    [InlineData("""{"model":"m"}""", "has no \"model\" object")]
    [InlineData("""[]""", "has no \"model\" object")]
    public void A_bad_field_is_named(string json, string message)
    {
        Write(json);

        var error = Assert.Throws<ModelLoadException>(() => ModelManifest.Read(_directory));

        Assert.Contains(Path.Combine(_directory, ModelManifest.RelativePath), error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Invalid_json_keeps_the_parser_error_as_the_cause()
    {
        Write("""{"model": {"modelName": "m",}}""");

        var error = Assert.Throws<ModelLoadException>(() => ModelManifest.Read(_directory));

        Assert.Contains("is not valid JSON", error.Message);
        Assert.IsAssignableFrom<JsonException>(error.InnerException);
        Assert.Contains(error.InnerException!.Message, error.Message);
    }

    [Fact]
    public void Reads_a_manifest_as_torch_model_archiver_writes_it()
    {
        Write("""{"createdOn":"11/04/2024 10:00:00","runtime":"python","model":{"modelName":"noop","serializedFile":"model.pt","handler":"service.py","modelVersion":"1.11"},"archiverVersion":"0.2.0"}""");

        var manifest = ModelManifest.Read(_directory);

        Assert.Equal(("noop", "1.11", "model.pt", "service.py", "python", "0.2.0"),
            (manifest.ModelName, manifest.ModelVersion, manifest.SerializedFile, manifest.Handler, manifest.Runtime, manifest.ArchiverVersion));
        Assert.Null(manifest.ConfigFile);
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
        File.WriteAllText(Path.Combine(_directory, ModelManifest.RelativePath), json);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
