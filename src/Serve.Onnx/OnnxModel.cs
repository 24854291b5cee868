using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace Serve.Onnx;

/// <summary>
/// An ONNX model run by ONNX Runtime (its session is thread-safe, so workers may share it).
/// It runs named tensors of any element type (<see cref="RunAsync(IReadOnlyDictionary{string, Tensor}, CancellationToken)"/>),
/// and, for models with one input, a batch tensor or per-request tensors it stacks into one,
/// returning the first output, or every output in the model's order (a detector's boxes, labels
/// and scores). Inputs are pinned, not copied; outputs are read in place. Runs go through
/// IOBinding (<see cref="BoundRunner"/>): per-request tensors are stacked into, and outputs written
/// to, host buffers reused from batch to batch, unless model-config says <c>onnx.ioBinding: false</c>.
/// </summary>
public sealed class OnnxModel :
    IModel<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>,
    IModel<Tensor<float>, IReadOnlyList<Tensor>>,
    IModel<Tensor<float>, Tensor<float>>,
    IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>,
    IModel<DenseTensor, DenseTensor>,
    IModel<IReadOnlyList<DenseTensor>, DenseTensor>,
    IModelSignature
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _outputNames;
    private readonly BoundRunner? _bound;

    /// <summary>A model over <paramref name="session"/>, run through IOBinding with outputs in reused host memory.</summary>
    public OnnxModel(InferenceSession session, string modelName)
        : this(session, modelName, ioBinding: true, pinnedAllocator: null)
    {
    }

    /// <param name="session">The session; the model disposes it.</param>
    /// <param name="modelName">The model's name, for messages.</param>
    /// <param name="ioBinding">Run through IOBinding with reused buffers (<see cref="BoundRunner"/>); false runs each call with tensors of its own.</param>
    /// <param name="pinnedAllocator">The session's CUDA_PINNED allocator for the reused host buffers, or null for plain native memory; the model disposes it.</param>
    internal OnnxModel(InferenceSession session, string modelName, bool ioBinding, OrtAllocator? pinnedAllocator)
    {
        _session = session;
        ModelName = modelName;
        _bound = ioBinding ? new BoundRunner(session, new HostMemoryPool(pinnedAllocator)) : null;
        _outputNames = [.. session.OutputMetadata.Keys];
        Inputs = [.. session.InputMetadata
            .Where(input => input.Value.IsTensor && OnnxTensors.FromOrt(input.Value.ElementDataType) is not null)
            .Select(input => new TensorDescription(input.Key, OnnxTensors.FromOrt(input.Value.ElementDataType)!.Value, [.. input.Value.Dimensions.Select(d => (long)d)]))];
    }

    /// <summary>The model's tensor inputs: name, element type and shape (-1: any size).</summary>
    public IReadOnlyList<TensorDescription> Inputs { get; }

    public string Backend => OnnxModelLoader.BackendName;

    /// <summary>True: an ONNX Runtime session runs concurrent calls, so a model's workers on one device share it.</summary>
    public bool IsThreadSafe => true;

    public string ModelName { get; }

    /// <summary>
    /// How the model runs, for the load log: through IOBinding with reused host buffers (page-locked
    /// for a CUDA device, or plain native memory), or with tensors allocated for each run.
    /// </summary>
    public string Execution => _bound is null
        ? "each run allocates its inputs' batch and outputs (onnx.ioBinding: false)"
        : _bound.Memory.IsPageLocked
            ? "IOBinding: batches stacked into and outputs written to reused page-locked host buffers (CUDA_PINNED), one copy each way"
            : "IOBinding: batches stacked into and outputs written to reused host buffers";

    /// <summary>Host buffers allocated so far for bound runs (reuse keeps this flat); 0 without IOBinding.</summary>
    internal long BufferAllocations => _bound?.Memory.Allocations ?? 0;

    /// <summary>Bound runs repeated unbound because an output's shape was not the one bound.</summary>
    internal long BoundReruns => _bound?.Reruns ?? 0;

    /// <summary>The session, for handlers that run it themselves.</summary>
    public InferenceSession Session => _session;

    /// <summary>The first input's shape as the model declares it; -1 marks a dimension of any size.</summary>
    public IReadOnlyList<int> InputShape => _session.InputMetadata.First().Value.Dimensions;

    /// <summary>Runs the model on named inputs and returns every output by name; the caller disposes the outputs.</summary>
    /// <exception cref="ArgumentException">A missing or unknown input, or a wrong element type or shape; the message names the input.</exception>
    public ValueTask<IReadOnlyDictionary<string, Tensor>> RunAsync(IReadOnlyDictionary<string, Tensor> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyDictionary<string, Tensor>>(Run(inputs, _outputNames));
    }

    public ValueTask<Tensor<float>> RunAsync(Tensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(RunSingle(input));
    }

    /// <summary>Runs a model of one input and returns all its outputs, in the order the model declares them; the caller disposes them.</summary>
    ValueTask<IReadOnlyList<Tensor>> IModel<Tensor<float>, IReadOnlyList<Tensor>>.RunAsync(Tensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outputs = Run(new Dictionary<string, Tensor> { [SingleInputName()] = input }, _outputNames);
        return ValueTask.FromResult<IReadOnlyList<Tensor>>([.. _outputNames.Select(name => outputs[name])]);
    }

    /// <summary>Runs the requests' tensors as a batch (one per shape where they differ: <see cref="TensorBatch.RunByShape"/>); one output row each, in order.</summary>
    public ValueTask<Tensor<float>> RunAsync(IReadOnlyList<Tensor<float>> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckRequests(inputs);
        return ValueTask.FromResult(TensorBatch.RunByShape(inputs, RunStacked, ModelName, Backend));
    }

    /// <summary>
    /// The sizes batches stacked here are padded to (<see cref="BatchShapes"/>); the loader sets
    /// them from model-config and the device. Padding needs a batch-major model: a first input
    /// dimension of any size, and outputs with one row per input row.
    /// </summary>
    public BatchShapes BatchShapes { get; init; } = BatchShapes.None;

    private bool PadsBatches => BatchShapes.Sizes.Count > 0 && InputShape is [< 0, ..];

    /// <summary>Stacks per-request tensors into a batch padded to the next preferred size, runs it, and gives back the requests' rows.</summary>
    private Tensor<float> RunStacked(IReadOnlyList<Tensor<float>> inputs)
    {
        var size = PadsBatches ? BatchShapes.Pad(inputs.Count) : inputs.Count;
        if (_bound is null)
        {
            return TensorBatch.TakeRows(RunSingle(TensorBatch.Stack(inputs, ModelName, Backend, size)), inputs.Count);
        }
        using var batch = _bound.Rent<float>(TensorBatch.Shape(inputs, size));
        TensorBatch.StackInto(inputs, batch, ModelName, Backend);
        return TensorBatch.TakeRows(RunSingle(batch), inputs.Count);
    }

    /// <summary>
    /// Runs each preferred batch size once on zeros (Triton's model warmup), so that the first
    /// requests of each shape do not pay for the provider's per-shape work (cuDNN's algorithm
    /// search on a GPU). Says what it did, for the load log.
    /// </summary>
    public string WarmUp()
    {
        if (!PadsBatches)
        {
            return "no warm-up: no preferred batch sizes, or the model's batch dimension is fixed";
        }
        if (Inputs.Count != 1 || Inputs[0].ElementType != TensorElementType.Float || Inputs[0].Shape!.Skip(1).Any(d => d < 0))
        {
            return "no warm-up: it needs one float input whose dimensions other than the batch are fixed";
        }
        var item = Inputs[0].Shape!.Skip(1).ToArray();
        var itemLength = item.Aggregate(1L, (a, b) => a * b);
        foreach (var size in BatchShapes.Sizes)
        {
            // Through the same buffers as a batch, so each size's are allocated before the first request.
            using var input = _bound?.Rent<float>([size, .. item]) ?? new Tensor<float>(new float[checked(size * itemLength)], [size, .. item]);
            input.Span.Clear();
            using var output = RunSingle(input);
        }
        return $"warmed up batch sizes [{string.Join(", ", BatchShapes.Sizes)}]";
    }

    public ValueTask<DenseTensor> RunAsync(DenseTensor input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(ToDense(RunSingle(FromDense(input))));
    }

    public ValueTask<DenseTensor> RunAsync(IReadOnlyList<DenseTensor> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tensors = new Tensor<float>[inputs.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = FromDense(inputs[i]);
        }
        CheckRequests(tensors);
        return ValueTask.FromResult(ToDense(TensorBatch.RunByShape(tensors, RunStacked, ModelName, Backend)));
    }

    private string SingleInputName() => _session.InputMetadata.Count == 1
        ? _session.InputMetadata.Keys.First()
        : throw new InvalidOperationException(
            $"Model '{ModelName}' has {_session.InputMetadata.Count} inputs ({string.Join(", ", _session.InputMetadata.Keys)}); " +
            "run it with named tensors (IReadOnlyDictionary<string, Tensor>) from an [Inference] stage.");

    private Tensor<float> RunSingle(Tensor<float> input)
    {
        var outputs = Run(new Dictionary<string, Tensor> { [SingleInputName()] = input }, [_outputNames[0]]);
        return outputs[_outputNames[0]] as Tensor<float> ?? throw new InvalidOperationException(
            $"Model '{ModelName}' output '{_outputNames[0]}' is {outputs[_outputNames[0]].ElementType}, not float; run it with named tensors.");
    }

    private Dictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs, string[] outputNames)
    {
        Check(inputs);
        if (_bound is not null && _bound.CanRun(inputs, outputNames))
        {
            return _bound.Run(_runOptions, inputs, outputNames, ModelName);
        }
        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        var pins = new MemoryHandle[inputs.Count];
        var count = 0;
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                names[count] = name;
                values[count] = OnnxTensors.ToOrtValue(tensor, out pins[count], ModelName);
                count++;
            }
            // The outputs are not disposed here: each becomes a Serve tensor that owns it.
            var outputs = _session.Run(_runOptions, names, values, outputNames);
            var results = new Dictionary<string, Tensor>(outputNames.Length, StringComparer.Ordinal);
            var taken = 0;
            try
            {
                for (; taken < outputNames.Length; taken++)
                {
                    results[outputNames[taken]] = OnnxTensors.FromOrtValue(outputs[taken], outputNames[taken], ModelName);
                }
                return results;
            }
            catch
            {
                for (var i = taken + 1; i < outputNames.Length; i++)
                {
                    outputs[i].Dispose();
                }
                foreach (var result in results.Values)
                {
                    result.Dispose();
                }
                throw;
            }
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                values[i].Dispose();
                pins[i].Dispose();
            }
        }
    }

    /// <summary>
    /// The requests' tensors against the model's one input, one row each: a tensor that does not
    /// fit came from a request (a tensor a client sent, say), so it is the client's error.
    /// </summary>
    private void CheckRequests(IReadOnlyList<Tensor<float>> inputs)
    {
        if (Inputs.Count != 1)
        {
            return; // Run names what is missing.
        }
        foreach (var input in inputs)
        {
            if (Inputs[0].RowMismatch(input) is { } why)
            {
                throw new InvalidRequestException($"Model '{ModelName}' {why}.");
            }
        }
    }

    private void Check(IReadOnlyDictionary<string, Tensor> inputs)
    {
        var missing = _session.InputMetadata.Keys.Where(name => !inputs.ContainsKey(name)).ToArray();
        var unknown = inputs.Keys.Where(name => !_session.InputMetadata.ContainsKey(name)).ToArray();
        if (missing.Length + unknown.Length > 0)
        {
            throw new ArgumentException(
                $"Model '{ModelName}' takes inputs {string.Join(", ", _session.InputMetadata.Keys)}" +
                (missing.Length > 0 ? $"; missing: {string.Join(", ", missing)}" : "") +
                (unknown.Length > 0 ? $"; unknown: {string.Join(", ", unknown)}" : "") + ".");
        }
        foreach (var (name, metadata) in _session.InputMetadata)
        {
            var tensor = inputs[name];
            if (OnnxTensors.ToOrt(tensor.ElementType) != metadata.ElementDataType)
            {
                throw new ArgumentException($"Model '{ModelName}' input '{name}' takes {metadata.ElementDataType}, not {tensor.ElementType}.");
            }
            var declared = metadata.Dimensions;
            var fits = declared.Length == tensor.Shape.Count;
            for (var i = 0; fits && i < declared.Length; i++)
            {
                fits = declared[i] < 0 || declared[i] == tensor.Shape[i];
            }
            if (!fits)
            {
                throw new ArgumentException(
                    $"Model '{ModelName}' input '{name}' takes shape [{string.Join(", ", declared)}] (-1: any size), but got {Tensor.FormatShape(tensor.Shape)}.");
            }
        }
    }

    private static Tensor<float> FromDense(DenseTensor dense)
    {
        var shape = new long[dense.Rank];
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = dense.Dimensions[i];
        }
        return new Tensor<float>(dense.Buffer, shape);
    }

    // The DenseTensor keeps the output's memory (and so its OrtValue) reachable; the OrtValue's
    // finalizer releases the native buffer once the DenseTensor is gone.
    private static DenseTensor ToDense(Tensor<float> tensor)
    {
        var dimensions = new int[tensor.Shape.Count];
        for (var i = 0; i < dimensions.Length; i++)
        {
            dimensions[i] = checked((int)tensor.Shape[i]);
        }
        return new DenseTensor(tensor.Memory, dimensions);
    }

    public void Dispose()
    {
        _bound?.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
