using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Models;

/// <summary>model-config.yaml read from a file: every key, and errors that name the file, line and key.</summary>
public sealed class ModelConfigFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-config-").FullName;

    [Fact]
    public void Reads_every_known_key()
    {
        var config = Read("""
            # TorchServe frontend settings
            minWorkers: 2
            maxWorkers: 4
            batchSize: 8
            maxBatchDelay: 50
            responseTimeout: 30
            startupTimeout: 90
            deviceType: gpu
            deviceIds: [0, 3]
            jobQueueSize: 16
            handler:
              topk: 5
              labels:
                file: index_to_name.json
              mean: [0.5, 0.25]
            """);

        Assert.Equal(2, config.MinWorkers);
        Assert.Equal(4, config.MaxWorkers);
        Assert.Equal(8, config.BatchSize);
        Assert.Equal(50, config.MaxBatchDelay);
        Assert.Equal(30, config.ResponseTimeout);
        Assert.Equal(90, config.StartupTimeout);
        Assert.Equal("gpu", config.DeviceType);
        Assert.Equal([0, 3], config.DeviceIds);
        Assert.Equal(16, config.JobQueueSize);
        Assert.Equal(4, config.Handler.Count);
        Assert.Equal("5", config.Handler["topk"]);
        Assert.Equal("index_to_name.json", config.Handler["labels:file"]);
        Assert.Equal("0.5", config.Handler["mean:0"]);
        Assert.Equal("0.25", config.Handler["mean:1"]);
        Assert.Equal("index_to_name.json", config.Handler["Labels:File"]); // Looked up as .NET configuration is: without case.
    }

    [Fact]
    public void Keys_that_are_not_set_keep_torchserve_defaults()
    {
        var config = Read("batchSize: 2");

        Assert.Equal(ModelConfig.Default with { BatchSize = 2 }, config with { Handler = ModelConfig.Default.Handler, ConfiguredKeys = null });
        Assert.Equal((1, 1, 100, 120, 120, 100), (config.MinWorkers, config.MaxWorkers, config.MaxBatchDelay, config.ResponseTimeout, config.StartupTimeout, config.JobQueueSize));
        Assert.Null(config.DeviceType);
        Assert.Empty(config.Handler);
    }

    [Theory]
    [InlineData("batchSize: 2\nbatchsize: 4", 2, "unknown model-config key 'batchsize'. Did you mean 'batchSize'? Keys are case-sensitive.")]
    [InlineData("\n\nbatchSize: eight", 3, "'batchSize' must be an integer, not 'eight'.")]
    [InlineData("batchSize: 1.5", 1, "'batchSize' must be an integer, not '1.5'.")]
    [InlineData("jobQueueSize: 10\nbatchSize: 0", 2, "'batchSize' must be at least 1, not 0.")]
    [InlineData("minWorkers: 1\nparallelType: pp", 2, "'parallelType' is a TorchServe model-config key that Serve does not support yet; remove it.")]
    [InlineData("pt2: [inductor]", 1, "'pt2' must be a mapping of keys to values.")]
    [InlineData("minWorkers: 3\nbatchSize: 1\nmaxWorkers: 2", 3, "minWorkers (3) is greater than maxWorkers (2).")]
    [InlineData("maxWorkers: 2\nminWorkers: 3", 2, "minWorkers (3) is greater than maxWorkers (2).")]
    [InlineData("batchSize: 2\nbatchSize: 4", 2, "not valid YAML: Duplicate key batchSize")]
    [InlineData("batchSize: 2\nhandler: [1, 2", 3, "not valid YAML: ")]
    [InlineData("deviceIds: [0, x]", 1, "'deviceIds' must be an integer, not 'x'.")]
    [InlineData("[batchSize]: 2", 1, "a key must be a plain name, not a list.")]
    [InlineData("handler:\n  topk: 5\n  {a: 1}: 2", 3, "a key must be a plain name, not a mapping.")]
    [InlineData("deviceType: tpu", 1, "'deviceType' must be 'cpu' or 'gpu', not 'tpu'.")]
    [InlineData("- a\n- b", 1, "a model config must be a mapping of keys to values.")]
    [InlineData("batchSize: 2\n---\nbatchSize: 4", 3, "a model config is one YAML document, but this file has 2.")]
    public void An_error_names_the_file_line_and_key(string yaml, int line, string message)
    {
        var path = Write(yaml);

        var error = Assert.Throws<ModelLoadException>(() => ModelConfig.Read(path));

        Assert.StartsWith($"{path}:{line}: ", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_pt2_and_onnx_sections_are_kept_for_the_backends_in_both_pt2_forms()
    {
        var config = Read("pt2:\n  compile:\n    enable: true\n    mode: max-autotune\nonnx:\n  intraOpNumThreads: 2");

        Assert.Equal("true", config.Pt2["compile:enable"]);
        Assert.Equal("max-autotune", config.Pt2["compile:mode"]);
        Assert.Equal("2", config.Onnx["intraOpNumThreads"]);
        Assert.Equal("inductor", Read("pt2: inductor").Pt2["backend"]);
    }

    [Fact]
    public void An_empty_file_is_the_defaults()
    {
        Assert.Same(ModelConfig.Default, Read(""));
    }

    [Fact]
    public void The_worker_batching_timeout_and_queue_settings_are_read()
    {
        var config = Read("minWorkers: 2\nmaxWorkers: 3\nmaxBatchDelay: 50\nresponseTimeout: 30\nbatchSize: 8\njobQueueSize: 5");

        Assert.Equal((2, 3, 50, 30, 8, 5), (config.MinWorkers, config.MaxWorkers, config.MaxBatchDelay, config.ResponseTimeout, config.BatchSize, config.JobQueueSize));
    }

    [Fact]
    public void An_unknown_key_unlike_any_known_one_lists_the_known_keys()
    {
        var error = Assert.Throws<ModelLoadException>(() => ModelConfig.Read(Write("workers: 2")));

        Assert.Contains("unknown model-config key 'workers'. Known keys: minWorkers, maxWorkers, batchSize,", error.Message);
        Assert.DoesNotContain("Did you mean", error.Message);
    }

    [Fact]
    public void A_missing_file_names_its_path()
    {
        var path = Path.Combine(_directory, "nope.yaml");

        var error = Assert.Throws<ModelLoadException>(() => ModelConfig.Read(path));

        Assert.Contains(path, error.Message);
    }

    private ModelConfig Read(string yaml) => ModelConfig.Read(Write(yaml));

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, "model-config.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
