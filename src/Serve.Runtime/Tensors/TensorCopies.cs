using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Serve.Runtime;

/// <summary>
/// Counts the times a backend copies tensor data on the request path (stacking per-request
/// tensors into a batch, moving to or from a device, strings that cannot be shared), as the
/// counter <c>serve.tensor.copies</c> of meter <see cref="MeterName"/>, tagged with the model, the
/// backend and the reason. Conversions that share memory record nothing. A diagnostic for
/// in-process listeners and dotnet-counters, kept off /metrics: a series per model name would
/// outlive the model (and the bytes are summed in the measurement, not a tag of their own).
/// </summary>
public static class TensorCopies
{
    /// <summary>The counter's name.</summary>
    public const string InstrumentName = "serve.tensor.copies";

    /// <summary>The meter of the counter.</summary>
    public const string MeterName = "Serve.Diagnostics";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Copies = Meter.CreateCounter<long>(InstrumentName, unit: "{copy}",
        description: "Tensor data copies made by a backend on the request path.");

    /// <summary>Counts one copy of <paramref name="bytes"/> bytes made by <paramref name="backend"/> for <paramref name="modelName"/>, and why.</summary>
    public static void Record(string modelName, string backend, string reason, long bytes) =>
        Copies.Add(1,
            new KeyValuePair<string, object?>("ModelName", modelName),
            new KeyValuePair<string, object?>("Backend", backend),
            new KeyValuePair<string, object?>("Reason", reason),
            new KeyValuePair<string, object?>("Bytes", bytes)); // for listeners; never exported as a label
}
