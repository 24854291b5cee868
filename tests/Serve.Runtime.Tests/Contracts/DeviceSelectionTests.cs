using Serve.Runtime;

namespace Serve.Runtime.Tests.Contracts;

/// <summary>TorchServe's device order (CUDA with the worker's GPU, MPS, CPU), tested without a GPU.</summary>
public class DeviceSelectionTests
{
    private static readonly AcceleratorInventory TwoGpus = new(CudaDeviceCount: 2, MpsAvailable: false);

    [Fact]
    public void Without_accelerators_the_cpu_is_chosen()
    {
        var choice = DeviceSelection.Select(ModelConfig.Default, 0, AcceleratorInventory.None);

        Assert.Equal(Device.Cpu, choice.Device);
        Assert.Equal("no CUDA or MPS device", choice.Reason);
    }

    [Theory]
    [InlineData(0, "cuda:0")]
    [InlineData(1, "cuda:1")]
    [InlineData(2, "cuda:0")]
    public void Workers_take_the_gpus_in_turn(int worker, string device)
    {
        Assert.Equal(device, DeviceSelection.Select(ModelConfig.Default, worker, TwoGpus).Device.ToString());
    }

    [Fact]
    public void DeviceIds_restricts_the_gpus_workers_take()
    {
        var config = ModelConfig.Default with { DeviceIds = [1] };

        Assert.Equal(new Device(DeviceType.Cuda, 1), DeviceSelection.Select(config, 0, TwoGpus).Device);
        Assert.Equal(new Device(DeviceType.Cuda, 1), DeviceSelection.Select(config, 1, TwoGpus).Device);
    }

    [Fact]
    public void DeviceIds_naming_a_missing_gpu_is_refused_by_name()
    {
        var config = ModelConfig.Default with { DeviceIds = [0, 3] };

        var error = Assert.Throws<ModelLoadException>(() => DeviceSelection.Select(config, 0, TwoGpus));

        Assert.Equal("deviceIds in model-config names GPU 3, but this machine has 2 CUDA device(s) (0-1).", error.Message);
    }

    [Fact]
    public void DeviceType_cpu_overrides_available_gpus()
    {
        var choice = DeviceSelection.Select(ModelConfig.Default with { DeviceType = "cpu" }, 0, TwoGpus);

        Assert.Equal((Device.Cpu, "deviceType: cpu in model-config"), (choice.Device, choice.Reason));
    }

    [Fact]
    public void Cuda_comes_before_mps_and_mps_before_the_cpu()
    {
        Assert.Equal(DeviceType.Cuda, DeviceSelection.Select(ModelConfig.Default, 0, new(1, MpsAvailable: true)).Device.Type);
        Assert.Equal(DeviceType.Mps, DeviceSelection.Select(ModelConfig.Default, 0, new(0, MpsAvailable: true)).Device.Type);
    }

    [Fact]
    public void DeviceType_gpu_without_a_gpu_runs_on_the_cpu_and_says_why()
    {
        var choice = DeviceSelection.Select(ModelConfig.Default with { DeviceType = "gpu" }, 0, AcceleratorInventory.None);

        Assert.Equal(Device.Cpu, choice.Device);
        Assert.Contains("deviceType: gpu", choice.Reason);
    }
}
