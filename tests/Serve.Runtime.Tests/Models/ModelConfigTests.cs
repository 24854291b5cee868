using System.IO;
using System.Linq;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Models;

public class ModelConfigTests
{
    [Fact]
    public void Reads_torchserve_keys_and_flattens_the_handler_section()
    {
        var config = Parse("""
            minWorkers: 1
            maxWorkers: 2
            batchSize: 8
            maxBatchDelay: 50
            responseTimeout: 30
            deviceType: cpu
            jobQueueSize: 10
            handler:
              topk: 3
              labels:
                file: index_to_name.json
              sizes: [224, 256]
            """);

        Assert.Equal((1, 2, 8, 50, 30, "cpu", 10), (config.MinWorkers, config.MaxWorkers, config.BatchSize, config.MaxBatchDelay, config.ResponseTimeout, config.DeviceType, config.JobQueueSize));
        Assert.Equal("3", config.Handler["topk"]);
        Assert.Equal("index_to_name.json", config.Handler["labels:file"]);
        Assert.Equal("256", config.Handler["sizes:1"]);
        Assert.Equal(["maxWorkers: 2 (one worker runs)", "maxBatchDelay: 50 (batches take what is waiting, without waiting)", "responseTimeout: 30 (no response timeout)"], config.NotYetHonoured());
    }

    [Fact]
    public void An_empty_file_is_the_defaults()
    {
        Assert.Same(ModelConfig.Default, Parse(""));
        Assert.Empty(ModelConfig.Default.NotYetHonoured());
    }

    [Theory]
    [InlineData("batchSize: 4\nbatchsize: 8", "model-config.yaml:2: unknown model-config key 'batchsize'. Did you mean 'batchSize'?")]
    [InlineData("colour: blue", "model-config.yaml:1: unknown model-config key 'colour'. Known keys:")]
    [InlineData("batchSize: many", "model-config.yaml:1: 'batchSize' must be an integer, not 'many'.")]
    [InlineData("\nbatchSize: 0", "model-config.yaml:2: 'batchSize' must be at least 1, not 0.")]
    [InlineData("pt2:\n  compile:\n    enable: true", "model-config.yaml:1: 'pt2' is a TorchServe model-config key that Serve does not support yet")]
    [InlineData("deviceType: tpu", "model-config.yaml:1: 'deviceType' must be 'cpu' or 'gpu', not 'tpu'.")]
    [InlineData("minWorkers: 3\nmaxWorkers: 2", "minWorkers (3) is greater than maxWorkers (2)")]
    [InlineData("batchSize: [1", ": not valid YAML: ")]
    [InlineData("- a\n- b", "model-config.yaml:1: a model config must be a mapping")]
    [InlineData("batchSize: 2\n---\nbatchSize: 4", "model-config.yaml:3: a model config is one YAML document, but this file has 2.")]
    public void A_bad_config_names_the_key_and_line(string yaml, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Parse(yaml));
        Assert.Contains(message, error.Message);
    }

    private static ModelConfig Parse(string yaml) => ModelConfig.Parse(new StringReader(yaml), "model-config.yaml");
}
