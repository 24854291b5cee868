using System;
using System.Collections.Generic;
using System.Linq;

namespace Serve.Runtime;

/// <summary>
/// The batch sizes a model runs (Triton's preferred batch sizes): a batch of n requests is padded
/// with zero rows up to the next size, so the model sees few distinct shapes, each warmed up
/// before the model is ready. A GPU's convolution algorithms are searched per input shape (ONNX
/// Runtime's CUDA provider by default searches cuDNN's exhaustively), so on a GPU the default is
/// the powers of two up to batchSize; on the CPU, where a padded row costs as much as a real one,
/// batches run at the size they have unless model-config's <c>preferredBatchSizes</c> says otherwise.
/// </summary>
public sealed record BatchShapes
{
    /// <summary>No padding: batches run at the size they have.</summary>
    public static BatchShapes None { get; } = new([], "no preferred batch sizes: batches run at the size they have");

    private BatchShapes(IReadOnlyList<int> sizes, string reason)
    {
        Sizes = sizes;
        Reason = reason;
    }

    /// <summary>The sizes, ascending, the largest being batchSize; empty for no padding.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>What was chosen and why, for the load log.</summary>
    public string Reason { get; }

    /// <summary>The sizes for <paramref name="config"/>'s model on <paramref name="device"/>.</summary>
    public static BatchShapes Decide(ModelConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.PreferredBatchSizes.Count > 0)
        {
            var sizes = Ascending(config.PreferredBatchSizes.Where(size => size <= config.BatchSize).Append(config.BatchSize));
            return new(sizes, $"preferred batch sizes [{string.Join(", ", sizes)}] (preferredBatchSizes in model-config, and batchSize)");
        }
        if (config.BatchSize == 1 || device.Type == DeviceType.Cpu)
        {
            return None;
        }
        var powers = new List<int>();
        for (var size = 1; size < config.BatchSize; size *= 2)
        {
            powers.Add(size);
        }
        var defaults = Ascending(powers.Append(config.BatchSize));
        return new(defaults, $"preferred batch sizes [{string.Join(", ", defaults)}]: on {device} each new shape costs an algorithm search, so batches are padded to powers of two up to batchSize");
    }

    /// <summary>The size a batch of <paramref name="count"/> requests runs at: the next of <see cref="Sizes"/>, or <paramref name="count"/> itself.</summary>
    public int Pad(int count)
    {
        foreach (var size in Sizes)
        {
            if (size >= count)
            {
                return size;
            }
        }
        return count;
    }

    private static int[] Ascending(IEnumerable<int> sizes) => [.. sizes.Distinct().Order()];
}
