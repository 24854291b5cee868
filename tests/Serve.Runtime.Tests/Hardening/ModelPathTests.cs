using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Hardening;

/// <summary>
/// Every file a model names stays inside the model's own directory: the manifest's
/// serializedFile, configFile and handler file, label files and extra files; absolute paths,
/// '..' and symbolic links are refused (issue 23 item 8). Names that no URL can address are
/// refused too (item 5; loading a directory applies it: ModelDirectoryPathTests in Serve.Server.Tests).
/// </summary>
public sealed class ModelPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("serve-paths-").FullName;
    private string Model => Path.Combine(_root, "model");

    public ModelPathTests()
    {
        Directory.CreateDirectory(Path.Combine(Model, "MAR-INF"));
        File.WriteAllText(Path.Combine(_root, "secret.yaml"), "batchSize: 3\n");
        File.WriteAllText(Path.Combine(_root, "secret.onnx"), "outside");
    }

    private void Manifest(string field, string value, string name = "m") =>
        File.WriteAllText(Path.Combine(Model, ModelManifest.RelativePath),
            "{\"model\": {\"modelName\": " + Json(name) + ", \"handler\": \"h\", \"" + field + "\": " + Json(value) + "}}");

    private static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    [Theory]
    [InlineData("serializedFile", "/etc/passwd")]
    [InlineData("serializedFile", "../secret.onnx")]
    [InlineData("serializedFile", "a/../../secret.onnx")]
    [InlineData("serializedFile", "..\\secret.onnx")]
    [InlineData("configFile", "../secret.yaml")]
    [InlineData("configFile", "/work/key_file.json")]
    [InlineData("handler", "../../handlers/evil.py")]
    [InlineData("handler", "/tmp/evil.py:handle")]
    [InlineData("serializedFile", "model\0.onnx")]
    public void A_manifest_naming_a_file_outside_the_model_is_refused(string field, string value)
    {
        Manifest(field, value);

        var error = Assert.Throws<ModelLoadException>(() => ModelManifest.Read(Model));

        Assert.Contains($"\"{field}\"", error.Message);
        Assert.Contains("inside its own directory", error.Message);
    }

    [Fact]
    public void Handler_names_and_relative_files_are_read()
    {
        Manifest("serializedFile", "weights/model.onnx");
        Assert.Equal("weights/model.onnx", ModelManifest.Read(Model).SerializedFile);
        Manifest("handler", "handlers/digits.py:handle");
        Assert.Equal("handlers/digits.py:handle", ModelManifest.Read(Model).Handler);
    }

    [Fact]
    public void A_symbolic_link_to_a_file_outside_is_refused_for_the_config_serialized_file_and_labels()
    {
        File.CreateSymbolicLink(Path.Combine(Model, "model-config.yaml"), Path.Combine(_root, "secret.yaml"));
        File.CreateSymbolicLink(Path.Combine(Model, "model.onnx"), Path.Combine(_root, "secret.onnx"));
        File.CreateSymbolicLink(Path.Combine(Model, LabelMap.FileName), Path.Combine(_root, "secret.yaml"));
        Manifest("serializedFile", "model.onnx");

        var config = Assert.Throws<ModelLoadException>(() => ModelFiles.Resolve(Model, "model-config.yaml", "model config"));
        var context = new HandlerContext(ModelManifest.Read(Model), Model);
        var serialized = Assert.Throws<ModelLoadException>(() => context.SerializedFilePath);
        var labels = Assert.Throws<ModelLoadException>(() => context.Labels);

        Assert.Contains("symbolic link", config.Message);
        Assert.Contains("symbolic link", serialized.Message);
        Assert.Contains("symbolic link", labels.Message);
    }

    [Fact]
    public void A_directory_link_on_the_way_to_an_extra_file_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(Model, "extra"), _root);
        var context = new HandlerContext(new ModelManifest { ModelName = "m" }, Model);

        var error = Assert.Throws<ModelLoadException>(() => context.ModelFile("extra/secret.yaml"));

        Assert.Contains("'extra'", error.Message);
        Assert.Equal(Path.Combine(Model, "vocab.txt"), context.ModelFile("vocab.txt"));
    }

    [Theory]
    [InlineData("resnet-18")]
    [InlineData("bert_base.v2")]
    [InlineData("9")]
    public void TorchServe_names_are_allowed(string name) => Assert.Null(ModelNames.Problem(name));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
