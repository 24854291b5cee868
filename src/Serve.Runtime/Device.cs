namespace Serve.Runtime;

/// <summary>The kinds of device a model can run on.</summary>
public enum DeviceType
{
    /// <summary>The CPU.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>Apple silicon's GPU through Metal Performance Shaders.</summary>
    Mps,
}

/// <summary>Where a model runs: "cpu", "cuda:0"... as PyTorch writes it.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    /// <summary>The CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu);

    /// <summary>The device as PyTorch writes it: "cpu", "cuda:0", "mps".</summary>
    public override string ToString() => Type switch
    {
        DeviceType.Cpu => "cpu",
        DeviceType.Cuda => $"cuda:{Index}",
        DeviceType.Mps => "mps",
        _ => Type.ToString(),
    };
}
