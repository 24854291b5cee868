namespace Serve.Runtime;

public enum DeviceType
{
    Cpu,
    Cuda,
    Mps,
}

/// <summary>Where a model runs: "cpu", "cuda:0"... as PyTorch writes it.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static Device Cpu { get; } = new(DeviceType.Cpu);

    public override string ToString() => Type switch
    {
        DeviceType.Cpu => "cpu",
        DeviceType.Cuda => $"cuda:{Index}",
        DeviceType.Mps => "mps",
        _ => Type.ToString(),
    };
}
