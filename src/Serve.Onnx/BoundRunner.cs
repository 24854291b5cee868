using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Serve.Onnx;

/// <summary>
/// Runs a session through ONNX Runtime's IOBinding, with outputs written into reused host memory
/// (<see cref="HostMemoryPool"/>) instead of tensors allocated for each run. An output whose shape
/// is known before the run (its dimensions fixed or named like an input's, or learned from an
/// earlier run on inputs of the same shapes) is bound to a rented block, and ONNX Runtime writes
/// it there: on a GPU with one copy back from the device at the end of the run. An output whose
/// size depends on the data (a detector's boxes) is bound to the host memory's device and
/// allocated by ONNX Runtime's arena, as an unbound run does.
/// </summary>
/// <remarks>
/// Workers share one session, so each run takes its own <see cref="OrtIoBinding"/> from a small
/// pool (as many as runs at once) and its own blocks: two runs never share a buffer. A block goes
/// back when the tensor over it is disposed. A bound shape that the model does not produce fails
/// ONNX Runtime's shape check before anything is returned; the run is then repeated with the
/// outputs allocated by ONNX Runtime, and an output whose shape differed is not bound again.
/// </remarks>
internal sealed class BoundRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HostMemoryPool _memory;
    private readonly ConcurrentBag<OrtIoBinding> _bindings = [];
    private readonly Dictionary<string, OutputPlan> _outputs = new(StringComparer.Ordinal);
    private long _reruns;

    public BoundRunner(InferenceSession session, HostMemoryPool memory)
    {
        _session = session;
        _memory = memory;
        var inputs = session.InputMetadata;
        foreach (var (name, metadata) in session.OutputMetadata)
        {
            if (!metadata.IsTensor || ElementSize(metadata.ElementDataType) == 0)
            {
                continue;
            }
            var dimensions = new DimensionSource[metadata.Dimensions.Length];
            for (var i = 0; i < dimensions.Length; i++)
            {
                dimensions[i] = Source(metadata, i, inputs);
            }
            _outputs[name] = new OutputPlan(metadata.ElementDataType, dimensions);
        }
    }

    /// <summary>Runs repeated because a bound output shape was wrong (a test figure: once per data-dependent output at most).</summary>
    public long Reruns => Interlocked.Read(ref _reruns);

    /// <summary>The host memory the bound tensors live in.</summary>
    public HostMemoryPool Memory => _memory;

    /// <summary>Whether a run of these inputs and outputs can be bound: every element type is a fixed-size number (strings are not).</summary>
    public bool CanRun(IReadOnlyDictionary<string, Tensor> inputs, string[] outputNames)
    {
        foreach (var name in outputNames)
        {
            if (!_outputs.ContainsKey(name))
            {
                return false;
            }
        }
        foreach (var tensor in inputs.Values)
        {
            if (tensor.ElementType == TensorElementType.String)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A tensor of <paramref name="shape"/> over a rented block (contents undefined); disposing it gives the block back.</summary>
    public Tensor<T> Rent<T>(long[] shape)
        where T : unmanaged
    {
        var length = shape.Aggregate(1L, (a, b) => checked(a * b));
        var block = _memory.Rent(checked(length * Unsafe.SizeOf<T>()));
        return NativeBuffer<T>.Tensor(block.Pointer, shape, block.Lease());
    }

    /// <summary>Runs the session on <paramref name="inputs"/> (their memory is bound as it is) and returns <paramref name="outputNames"/>; the caller disposes them.</summary>
    public Dictionary<string, Tensor> Run(RunOptions runOptions, IReadOnlyDictionary<string, Tensor> inputs, string[] outputNames, string modelName)
    {
        if (!_bindings.TryTake(out var binding))
        {
            binding = _session.CreateIoBinding();
        }
        var inputValues = new OrtValue[inputs.Count];
        var pins = new MemoryHandle[inputs.Count];
        var bound = 0;
        var plans = new OutputPlan[outputNames.Length];
        var shapes = new long[]?[outputNames.Length];
        string? key = null;
        for (var i = 0; i < outputNames.Length; i++)
        {
            plans[i] = _outputs[outputNames[i]];
            shapes[i] = plans[i].Resolve(inputs, ref key);
        }
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                inputValues[bound] = OnnxTensors.ToOrtValue(tensor, out pins[bound], modelName);
                bound++;
                binding.BindInput(name, inputValues[bound - 1]);
            }
            var blocks = RunBound(runOptions, binding, outputNames, plans, shapes);
            long[]?[]? guesses = null;
            if (blocks is null)
            {
                // A bound shape was wrong: run again with every output allocated by ONNX Runtime.
                Interlocked.Increment(ref _reruns);
                guesses = shapes;
                shapes = new long[]?[outputNames.Length];
                blocks = RunBound(runOptions, binding, outputNames, plans, shapes)!;
            }
            var results = Collect(binding, outputNames, plans, shapes, blocks, modelName);
            if (guesses is not null)
            {
                Unbind(outputNames, plans, guesses, results);
            }
            for (var i = 0; i < outputNames.Length; i++)
            {
                if (shapes[i] is null)
                {
                    plans[i].Learn(inputs, ref key, results[outputNames[i]].ShapeArray());
                }
            }
            return results;
        }
        finally
        {
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
            _bindings.Add(binding);
            for (var i = 0; i < bound; i++)
            {
                inputValues[i].Dispose();
                pins[i].Dispose();
            }
        }
    }

    /// <summary>Binds the outputs (to a block where <paramref name="shapes"/> has a shape), runs, and gives the blocks; null when a bound shape was wrong.</summary>
    private HostBlock?[]? RunBound(RunOptions runOptions, OrtIoBinding binding, string[] outputNames, OutputPlan[] plans, long[]?[] shapes)
    {
        var blocks = new HostBlock?[outputNames.Length];
        var views = new OrtValue?[outputNames.Length];
        var kept = false;
        try
        {
            for (var i = 0; i < outputNames.Length; i++)
            {
                if (shapes[i] is { } shape)
                {
                    var bytes = shape.Aggregate(1L, (a, b) => checked(a * b)) * ElementSize(plans[i].ElementType);
                    blocks[i] = _memory.Rent(bytes);
                    views[i] = OrtValue.CreateTensorValueWithData(_memory.MemoryInfo, plans[i].ElementType, shape, blocks[i]!.Pointer, bytes);
                    binding.BindOutput(outputNames[i], views[i]!);
                }
                else
                {
                    binding.BindOutputToDevice(outputNames[i], _memory.MemoryInfo);
                }
            }
            try
            {
                _session.RunWithBinding(runOptions, binding);
            }
            catch (OnnxRuntimeException) when (Array.Exists(shapes, shape => shape is not null))
            {
                return null;
            }
            if (_memory.IsPageLocked)
            {
                binding.SynchronizeBoundOutputs();
            }
            kept = true;
            return blocks;
        }
        finally
        {
            foreach (var view in views)
            {
                view?.Dispose();
            }
            if (!kept)
            {
                foreach (var block in blocks)
                {
                    block?.Return();
                }
            }
        }
    }

    private static Dictionary<string, Tensor> Collect(OrtIoBinding binding, string[] outputNames, OutputPlan[] plans, long[]?[] shapes, HostBlock?[] blocks, string modelName)
    {
        var results = new Dictionary<string, Tensor>(outputNames.Length, StringComparer.Ordinal);
        // ONNX Runtime's values in the order bound; fetched only when it allocated some of them.
        IReadOnlyList<OrtValue>? fetched = Array.Exists(blocks, block => block is null) ? binding.GetOutputValues() : null;
        var taken = 0;
        try
        {
            for (; taken < outputNames.Length; taken++)
            {
                if (blocks[taken] is { } block)
                {
                    fetched?[taken].Dispose();
                    results[outputNames[taken]] = View(plans[taken].ElementType, block, shapes[taken]!);
                    continue;
                }
                results[outputNames[taken]] = OnnxTensors.FromOrtValue(fetched![taken], outputNames[taken], modelName);
            }
            return results;
        }
        catch
        {
            for (var i = taken + 1; i < outputNames.Length; i++)
            {
                if (blocks[i] is { } block)
                {
                    block.Return();
                }
                fetched?[i].Dispose();
            }
            foreach (var result in results.Values)
            {
                result.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// After a run that failed with outputs bound and succeeded without: the outputs whose real
    /// shape differs from the one bound are not bound again (all that were bound, if none differs).
    /// </summary>
    private static void Unbind(string[] outputNames, OutputPlan[] plans, long[]?[] guesses, Dictionary<string, Tensor> results)
    {
        var wrong = 0;
        for (var i = 0; i < outputNames.Length; i++)
        {
            if (guesses[i] is { } guess && !results[outputNames[i]].ShapeArray().AsSpan().SequenceEqual(guess))
            {
                plans[i].Dynamic = true;
                wrong++;
            }
        }
        if (wrong == 0)
        {
            for (var i = 0; i < outputNames.Length; i++)
            {
                plans[i].Dynamic = plans[i].Dynamic || guesses[i] is not null;
            }
        }
    }

    private static Tensor View(OrtElementType type, HostBlock block, long[] shape) => type switch
    {
        OrtElementType.Float => NativeBuffer<float>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.Float16 => NativeBuffer<Half>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.Double => NativeBuffer<double>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.Int32 => NativeBuffer<int>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.Int64 => NativeBuffer<long>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.UInt8 => NativeBuffer<byte>.Tensor(block.Pointer, shape, block.Lease()),
        OrtElementType.Bool => NativeBuffer<bool>.Tensor(block.Pointer, shape, block.Lease()),
        _ => throw new InvalidOperationException($"No bound view for {type}."),
    };

    /// <summary>Bytes per element of the types bound to host blocks; 0 for the rest (strings, and types Serve's tensors do not hold).</summary>
    private static int ElementSize(OrtElementType type) => type switch
    {
        OrtElementType.Float or OrtElementType.Int32 => 4,
        OrtElementType.Double or OrtElementType.Int64 => 8,
        OrtElementType.Float16 => 2,
        OrtElementType.UInt8 or OrtElementType.Bool => 1,
        _ => 0,
    };

    private static DimensionSource Source(NodeMetadata output, int index, IReadOnlyDictionary<string, NodeMetadata> inputs)
    {
        if (output.Dimensions[index] >= 0)
        {
            return new(output.Dimensions[index], null, 0);
        }
        var symbol = output.SymbolicDimensions[index];
        if (!string.IsNullOrEmpty(symbol))
        {
            foreach (var (name, input) in inputs)
            {
                var at = Array.IndexOf(input.SymbolicDimensions, symbol);
                if (at >= 0 && input.Dimensions[at] < 0)
                {
                    return new(-1, name, at);
                }
            }
        }
        return new(-1, null, 0);
    }

    public void Dispose()
    {
        while (_bindings.TryTake(out var binding))
        {
            binding.Dispose();
        }
        _memory.Dispose();
    }

    /// <summary>Where one output dimension's size comes from: a fixed size, or an input's dimension; neither means unknown.</summary>
    private readonly record struct DimensionSource(long Fixed, string? Input, int Index);

    /// <summary>
    /// How one output's shape is told before a run: from the model's declared dimensions (fixed,
    /// or named like an input's), else from what the same input shapes gave before (learned, for
    /// outputs whose dimensions the export left unnamed, such as a resize's). A learned shape that
    /// a later run does not give marks the output data-dependent: it is not bound again.
    /// </summary>
    private sealed class OutputPlan(OrtElementType elementType, DimensionSource[] dimensions)
    {
        /// <summary>Input shapes remembered per output; a model that makes more keeps the ones it has.</summary>
        private const int MaxLearned = 64;

        private readonly bool _declared = !Array.Exists(dimensions, d => d.Fixed < 0 && d.Input is null);
        private readonly ConcurrentDictionary<string, long[]> _learned = new(StringComparer.Ordinal);
        private volatile bool _dynamic;

        public OrtElementType ElementType { get; } = elementType;

        /// <summary>True once the output's size proved to depend on the data (a detector's boxes): ONNX Runtime allocates it.</summary>
        public bool Dynamic
        {
            get => _dynamic;
            set => _dynamic = value;
        }

        /// <summary>The shape to bind for <paramref name="inputs"/>, or null to let ONNX Runtime allocate the output.</summary>
        /// <param name="inputs">The run's inputs.</param>
        /// <param name="key">The inputs' shapes as a key, made once per run when an output needs it.</param>
        public long[]? Resolve(IReadOnlyDictionary<string, Tensor> inputs, ref string? key)
        {
            if (_dynamic)
            {
                return null;
            }
            if (!_declared)
            {
                return _learned.TryGetValue(key ??= Key(inputs), out var learned) ? learned : null;
            }
            var shape = new long[dimensions.Length];
            for (var i = 0; i < shape.Length; i++)
            {
                var dimension = dimensions[i];
                if (dimension.Input is null)
                {
                    shape[i] = dimension.Fixed;
                }
                else if (inputs.TryGetValue(dimension.Input, out var input) && dimension.Index < input.Shape.Count)
                {
                    shape[i] = input.Shape[dimension.Index];
                }
                else
                {
                    return null;
                }
            }
            return shape;
        }

        /// <summary>Remembers the shape an unbound run gave for these inputs' shapes.</summary>
        public void Learn(IReadOnlyDictionary<string, Tensor> inputs, ref string? key, long[] shape)
        {
            if (!_declared && !_dynamic && _learned.Count < MaxLearned)
            {
                _learned.TryAdd(key ??= Key(inputs), shape);
            }
        }

        private static string Key(IReadOnlyDictionary<string, Tensor> inputs)
        {
            var key = new System.Text.StringBuilder();
            foreach (var (name, tensor) in inputs.OrderBy(input => input.Key, StringComparer.Ordinal))
            {
                key.Append(name).Append(Tensor.FormatShape(tensor.Shape));
            }
            return key.ToString();
        }
    }
}
