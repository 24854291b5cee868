using System;
using System.IO;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Server.Tests;

/// <summary>What a model directory declares: its manifest, or one made up from the options, and its config.</summary>
public sealed class ModelDirectoryTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-model-dir-").FullName;

    [Fact]
    public void A_directory_without_manifest_or_model_file_serves_a_model_without_a_serialized_file()
    {
        var (manifest, config) = ModelDirectory.Read(new ModelOptions { Name = "echo", Path = _directory });

        Assert.Equal("echo", manifest.ModelName);
        Assert.Equal("echo", manifest.Handler);
        Assert.Null(manifest.SerializedFile);
        Assert.Null(manifest.ConfigFile);
        Assert.Same(ModelConfig.Default, config);
    }

    [Fact]
    public void A_directory_without_manifest_uses_its_only_model_file_and_its_config()
    {
        File.WriteAllBytes(Path.Combine(_directory, "net.onnx"), [1]);
        File.WriteAllText(Path.Combine(_directory, "notes.txt"), "not a model");
        File.WriteAllText(Path.Combine(_directory, ModelDirectory.DefaultConfigFile), "batchSize: 4");

        var (manifest, config) = ModelDirectory.Read(new ModelOptions { Name = "net", Path = _directory, Handler = "classifier" });

        Assert.Equal("net.onnx", manifest.SerializedFile);
        Assert.Equal("classifier", manifest.Handler);
        Assert.Equal(ModelDirectory.DefaultConfigFile, manifest.ConfigFile);
        Assert.Equal(4, config.BatchSize);
    }

    [Fact]
    public void Several_model_files_without_a_choice_are_an_error_that_lists_them()
    {
        File.WriteAllBytes(Path.Combine(_directory, "a.onnx"), [1]);
        File.WriteAllBytes(Path.Combine(_directory, "b.pt"), [1]);

        var error = Assert.Throws<ModelLoadException>(() => ModelDirectory.Read(new ModelOptions { Name = "two", Path = _directory }));

        Assert.Contains("a.onnx, b.pt", error.Message);
        Assert.Contains("SerializedFile", error.Message);
        Assert.Equal("b.pt", ModelDirectory.Read(new ModelOptions { Name = "two", Path = _directory, SerializedFile = "b.pt" }).Manifest.SerializedFile);
    }

    [Fact]
    public void The_configured_name_wins_over_the_manifest_and_the_manifest_names_the_handler_and_config()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "MAR-INF"));
        File.WriteAllText(Path.Combine(_directory, ModelManifest.RelativePath),
            """{"model":{"modelName":"archived","handler":"digits","serializedFile":"m.onnx","configFile":"custom.yaml"}}""");
        File.WriteAllText(Path.Combine(_directory, "custom.yaml"), "batchSize: 3");

        var (manifest, config) = ModelDirectory.Read(new ModelOptions { Name = "served", Path = _directory });

        Assert.Equal("served", manifest.ModelName);
        Assert.Equal("digits", manifest.Handler);
        Assert.Equal("m.onnx", manifest.SerializedFile);
        Assert.Equal(3, config.BatchSize);
    }

    [Fact]
    public void A_missing_directory_is_named()
    {
        var missing = Path.Combine(_directory, "missing");

        var error = Assert.Throws<ModelLoadException>(() => ModelDirectory.Read(new ModelOptions { Name = "gone", Path = missing }));

        Assert.Contains("'gone'", error.Message);
        Assert.Contains(missing, error.Message);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
