using System.IO;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>The thread budget's decisions on 2 and 16 cores, on the CPU and a GPU, and model-config's overrides.</summary>
public class ThreadBudgetTests
{
    private static ModelConfig Config(string yaml = "") => ModelConfig.Parse(new StringReader(yaml), "model-config.yaml");

    private static ThreadBudget Decide(int cores, int workers, bool perRequest, Device? device = null, string yaml = "") =>
        ThreadBudget.Decide(new ThreadBudgetInputs(cores, device ?? Device.Cpu, workers, perRequest), Config(yaml));

    [Fact]
    public void Two_cores_with_a_per_request_preprocess_give_inference_one_thread_that_does_not_spin()
    {
        var budget = Decide(cores: 2, workers: 1, perRequest: true);

        Assert.Equal((2, 1, 1, false, 1), (budget.RequestStageThreads, budget.IntraOpThreads, budget.InterOpThreads, budget.AllowSpinning, budget.TorchThreads));
        Assert.Contains("2 cores shared with the per-request preprocess (2 threads): 1 for inference", budget.Reason);
        Assert.Contains("does not spin (a spinning thread would take a core from the preprocess)", budget.Reason);
    }

    [Fact]
    public void Sixteen_cores_with_a_per_request_preprocess_give_inference_half_of_them()
    {
        var budget = Decide(cores: 16, workers: 1, perRequest: true);

        Assert.Equal((16, 8, false, 8), (budget.RequestStageThreads, budget.IntraOpThreads, budget.AllowSpinning, budget.TorchThreads));
    }

    [Theory]
    [InlineData(2, 1, 2)]
    [InlineData(2, 2, 1)]
    [InlineData(16, 1, 16)]
    [InlineData(16, 4, 13)]
    [InlineData(16, 16, 1)]
    [InlineData(16, 64, 1)]
    public void Workers_sharing_the_model_leave_the_pool_what_their_own_threads_do_not_take(int cores, int workers, int intra)
    {
        var budget = Decide(cores, workers, perRequest: false);

        Assert.Equal((intra, false), (budget.IntraOpThreads, budget.AllowSpinning));
        Assert.Contains("the pool does not spin (a waiting thread would burn a core", budget.Reason);
        // The callers' threads and the pool's never outnumber the cores, unless there are more workers than cores.
        Assert.True(workers + budget.IntraOpThreads - 1 <= System.Math.Max(cores, workers));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void On_a_gpu_the_host_gets_one_thread_and_every_core_decodes(int cores)
    {
        var budget = Decide(cores, workers: 2, perRequest: true, device: new Device(DeviceType.Cuda, 0));

        Assert.Equal((cores, 1, false, 1), (budget.RequestStageThreads, budget.IntraOpThreads, budget.AllowSpinning, budget.TorchThreads));
        Assert.Contains("cuda:0 runs the model", budget.Reason);
    }

    [Fact]
    public void Model_config_overrides_each_choice_and_the_reason_names_it()
    {
        var budget = Decide(cores: 2, workers: 1, perRequest: true,
            yaml: "onnx:\n  intraOpNumThreads: 3\n  interOpNumThreads: 2\n  allowSpinning: true\ntorch:\n  numThreads: 4\n");

        Assert.Equal((3, 2, true, 4), (budget.IntraOpThreads, budget.InterOpThreads, budget.AllowSpinning, budget.TorchThreads));
        Assert.StartsWith("intra-op 3, inter-op 2, spinning on, libtorch 4, per-request stages 2: ", budget.Reason);
        Assert.Contains("onnx.intraOpNumThreads: 3 in model-config", budget.Reason);
        Assert.Contains("torch.numThreads: 4 in model-config", budget.Reason);
    }

    [Fact]
    public void Zero_threads_keeps_the_policys_choice_rather_than_one_per_core()
    {
        var budget = Decide(cores: 16, workers: 1, perRequest: true, yaml: "onnx:\n  intraOpNumThreads: 0\n");

        Assert.Equal(8, budget.IntraOpThreads);
    }

    [Theory]
    [InlineData("onnx:\n  intraOpNumThreads: many", "'onnx.intraOpNumThreads' must be a whole number of threads")]
    [InlineData("onnx:\n  interOpNumThreads: -1", "'onnx.interOpNumThreads' must be a whole number of threads")]
    [InlineData("onnx:\n  intraOpNumThreads: 100000", "from 0 (the server's choice) to 1024")]
    [InlineData("onnx:\n  allowSpinning: sometimes", "'onnx.allowSpinning' must be true or false, not 'sometimes'.")]
    [InlineData("torch:\n  numThreads: 1.5", "'torch.numThreads' must be a whole number of threads")]
    public void Bad_overrides_are_refused_by_name(string yaml, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Decide(cores: 2, workers: 1, perRequest: true, yaml: yaml));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_context_budgets_from_its_model_config_workers_and_preprocess()
    {
        var context = new HandlerContext(new ModelManifest { ModelName = "m" }, Path.GetTempPath())
        {
            ModelConfig = Config("minWorkers: 2\nmaxWorkers: 4\n"),
            Cores = 16,
            PreprocessesEachRequest = false,
        };

        Assert.Equal(13, context.Threads.IntraOpThreads);
    }

    [Theory]
    [InlineData("", 0, 2, 2)] // CPU: one worker per core
    [InlineData("", 0, 16, 16)]
    [InlineData("", 2, 16, 2)] // TorchServe's default: one worker per GPU
    [InlineData("deviceIds: [1]\n", 2, 16, 1)]
    [InlineData("deviceType: cpu\n", 2, 16, 16)]
    public void Without_a_worker_count_a_model_gets_one_worker_per_gpu_else_one_per_core(string yaml, int gpus, int cores, int workers) =>
        Assert.Equal(workers, ThreadBudget.DefaultWorkers(Config(yaml), new AcceleratorInventory(gpus, false), cores));

    [Fact]
    public void The_default_worker_count_applies_only_where_neither_registration_nor_model_config_gives_one()
    {
        var unset = Config("batchSize: 4\n");
        var archiveSets = Config("maxWorkers: 3\n");

        Assert.Equal((5, 5), Workers(RegisterSettings.Apply(new ModelOptions(), unset, unset.ConfiguredKeys, defaultWorkers: 5)));
        Assert.Equal((5, 5), Workers(RegisterSettings.Apply(new ModelOptions(), ModelConfig.Default, null, defaultWorkers: 5)));
        Assert.Equal((2, 2), Workers(RegisterSettings.Apply(new ModelOptions { InitialWorkers = 2 }, unset, unset.ConfiguredKeys, defaultWorkers: 5)));
        Assert.Equal((1, 3), Workers(RegisterSettings.Apply(new ModelOptions(), archiveSets, archiveSets.ConfiguredKeys, defaultWorkers: 5)));
    }

    private static (int Min, int Max) Workers(ModelConfig config) => (config.MinWorkers, config.MaxWorkers);
}
