using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using TorchSharp;
using TorchDeviceType = TorchSharp.DeviceType;

namespace Serve.Torch;

/// <summary>
/// A model run by TorchSharp (TorchScript or a C# module), under inference mode, on the device the
/// context chose. It takes a batch tensor, or per-request tensors that it stacks, and returns the
/// output over the native tensor's memory. Every intermediate tensor is disposed by a dispose
/// scope; TorchSharp's scopes are per thread, so a model runs on its worker without awaiting.
/// Handlers that work in TorchSharp directly can run <see cref="Forward"/> themselves.
/// </summary>
public abstract class TorchModel :
    IModel<Tensor<float>, Tensor<float>>,
    IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>
{
    private protected TorchModel(string modelName, torch.Device device)
    {
        ModelName = modelName;
        Device = device;
    }

    public string Backend => TorchModelLoader.BackendName;

    public string ModelName { get; }

    /// <summary>The TorchSharp device the model's weights live on.</summary>
    public torch.Device Device { get; }

    /// <summary>Runs the model on a TorchSharp tensor already on <see cref="Device"/>; the caller owns the result.</summary>
    public abstract torch.Tensor Forward(torch.Tensor input);

    public ValueTask<Tensor<float>> RunAsync(Tensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Run(input));
    }

    /// <summary>
    /// The sizes batches stacked here are padded to (<see cref="Runtime.BatchShapes"/>), set by
    /// the loader; the model must give one output row per input row. TorchScript declares no
    /// input shapes, so these shapes are not warmed up before the model is ready.
    /// </summary>
    public BatchShapes BatchShapes { get; init; } = BatchShapes.None;

    /// <summary>
    /// Runs the requests' tensors as a batch padded to the next preferred size (one per shape where
    /// they differ: <see cref="TensorBatch.RunByShape"/>); one output row each, in order.
    /// </summary>
    public ValueTask<Tensor<float>> RunAsync(IReadOnlyList<Tensor<float>> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(TensorBatch.RunByShape(inputs, RunStacked, ModelName, Backend));
    }

    /// <summary>Stacks per-request tensors of one shape into a batch padded to the next preferred size, runs it, and gives back the requests' rows.</summary>
    private Tensor<float> RunStacked(IReadOnlyList<Tensor<float>> inputs)
    {
        var shape = TensorBatch.Shape(inputs, BatchShapes.Pad(inputs.Count));
        // Stacked straight into libtorch's memory: a managed array per batch would be a new
        // large-object-heap array for every image (602 KB at 224 x 224), collected in full collections.
        var batch = torch.empty(shape, torch.ScalarType.Float32, torch.CPU);
        using var rows = NativeBuffer<float>.Tensor(TorchTensors.DataPointer(batch), shape, batch);
        TensorBatch.StackInto(inputs, rows, ModelName, Backend);
        return TensorBatch.TakeRows(Run(batch), inputs.Count);
    }

    private Tensor<float> Run(Tensor<float> input)
    {
        torch.Tensor output;
        using (torch.NewDisposeScope())
        using (torch.inference_mode())
        {
            output = Forward(ToDevice(input)).MoveToOuterDisposeScope();
        }
        return TorchTensors.FromTorch(output, ModelName);
    }

    /// <summary>Runs a CPU tensor the caller owns (and disposes).</summary>
    private Tensor<float> Run(torch.Tensor input)
    {
        torch.Tensor output;
        using (torch.NewDisposeScope())
        using (torch.inference_mode())
        {
            output = Forward(OnDevice(input, input.numel())).MoveToOuterDisposeScope();
        }
        return TorchTensors.FromTorch(output, ModelName);
    }

    /// <summary>The input as a TorchSharp tensor on <see cref="Device"/>, inside the caller's dispose scope.</summary>
    private protected torch.Tensor ToDevice(Tensor<float> input) => OnDevice(TorchTensors.ToTorch(input, ModelName), input.Length);

    /// <summary>A CPU tensor of <paramref name="length"/> floats, moved to <see cref="Device"/> (a copy, counted) when that is not the CPU.</summary>
    private torch.Tensor OnDevice(torch.Tensor value, long length)
    {
        if (Device.type != TorchDeviceType.CPU)
        {
            TensorCopies.Record(ModelName, Backend, "cpu to device", length * sizeof(float));
            value = value.to(Device);
        }
        return value;
    }

    public abstract void Dispose();
}

/// <summary>
/// A TorchScript model (<c>torch.jit.save</c>), loaded by libtorch. Besides one tensor, it can
/// return every output of a model that returns a tuple or list of tensors (a detector's boxes,
/// labels and scores), in order, and it runs named inputs of any element type Serve's tensors
/// hold (a text model's int64 token ids): each is passed as the <c>forward</c> argument of that
/// name, read from the file's code (<see cref="IModelSignature.Inputs"/>: names only, as
/// TorchScript declares no element types or shapes). TorchScript outputs have no names: named
/// runs return one tensor as <see cref="OutputName"/>, and a tuple or list as
/// <c>output0</c>, <c>output1</c>, ... in order (<see cref="TupleOutputName"/>).
/// </summary>
public sealed class TorchScriptModel : TorchModel,
    IModel<Tensor<float>, IReadOnlyList<Tensor>>,
    IModel<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>,
    IModelSignature
{
    /// <summary>The name of the output of a model that returns one tensor, in a named run.</summary>
    public const string OutputName = "output";

    private readonly torch.jit.ScriptModule _module;
    private readonly Lazy<IReadOnlyList<ForwardArgument>> _forward;
    private readonly string? _method;

    /// <summary>
    /// Loads the file; a module whose forward returns <c>Dict[str, Tensor]</c> (torchvision's
    /// segmentation models) is run through a method that returns its "out" (<see cref="TorchScriptDictOutput"/>).
    /// </summary>
    public TorchScriptModel(string path, string modelName, torch.Device device) : base(modelName, device)
    {
        var withTensorMethod = TorchScriptDictOutput.WithTensorMethod(path, modelName);
        _method = withTensorMethod is null ? null : TorchScriptDictOutput.MethodName;
        _module = withTensorMethod is null ? torch.jit.load(path, device) : torch.jit.load(withTensorMethod, device);
        _module.eval();
        _forward = new(() => TorchScriptSignature.Read(path, modelName));
    }

    public torch.jit.ScriptModule Module => _module;

    /// <summary>
    /// True: libtorch runs a script module's forward from several threads at once, and each run
    /// keeps its tensors in a dispose scope of the calling thread without awaiting, so a model's
    /// workers on one device share the module. A C# module (<see cref="TorchModuleModel"/>) is
    /// the user's code and may keep state between calls: each worker loads its own.
    /// </summary>
    public bool IsThreadSafe => true;

    /// <summary>The name of output <paramref name="index"/> of a model that returns a tuple or list, in a named run: output0, output1, ...</summary>
    public static string TupleOutputName(int index) => OutputName + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The forward's leading tensor arguments, by name, with no element type or shape (TorchScript
    /// records neither). Read from the file on first use.
    /// </summary>
    /// <exception cref="ModelLoadException">The file's code cannot be read for the forward's arguments.</exception>
    public IReadOnlyList<TensorDescription> Inputs =>
        [.. _forward.Value.TakeWhile(a => a.IsTensor).Select(a => new TensorDescription(a.Name, null, null))];

    /// <summary>The forward, or for a dict-returning module its "out" (<see cref="TorchScriptDictOutput"/>).</summary>
    private object Call(object[] arguments)
    {
        if (_method is null)
        {
            return _module.call(arguments);
        }
        try
        {
            return _module.invoke(_method, arguments);
        }
        catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("KeyError", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"The TorchScript model '{ModelName}' returns a dict (Dict[str, Tensor]), which is served by its \"{TorchScriptDictOutput.Key}\" entry as TorchServe's image_segmenter reads it, " +
                $"and this dict has none ({Reason(e.Message)}); return a tensor, or a tuple of tensors, instead.", e);
        }
    }

    public override torch.Tensor Forward(torch.Tensor input) => Call([input]) switch
    {
        torch.Tensor tensor => tensor,
        var other => throw new InvalidOperationException(
            $"The TorchScript model '{ModelName}' returned {other?.GetType().Name ?? "null"}, not one tensor; declare an [Inference] stage that calls TorchScriptModel.Module."),
    };

    /// <summary>Runs the model on one input and returns its tensor, or each tensor of the tuple or list it returns; the caller disposes them.</summary>
    ValueTask<IReadOnlyList<Tensor>> IModel<Tensor<float>, IReadOnlyList<Tensor>>.RunAsync(Tensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<Tensor>>(Run(() => [ToDevice(input)], out _));
    }

    /// <summary>
    /// Runs the model on named inputs, each given to the forward argument of its name; returns
    /// <c>output</c>, or <c>output0..n</c> for a tuple or list; the caller disposes the outputs.
    /// </summary>
    /// <exception cref="ArgumentException">A missing or unknown input, an element type the backend does not take, or inputs libtorch refuses (a wrong element type or shape); the message names them.</exception>
    public ValueTask<IReadOnlyDictionary<string, Tensor>> RunAsync(IReadOnlyDictionary<string, Tensor> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var names = Bind(inputs);
        Tensor[] outputs;
        try
        {
            outputs = Run(() => [.. names.Select(name => ToDevice(inputs[name]))], out var single);
            if (single)
            {
                return ValueTask.FromResult<IReadOnlyDictionary<string, Tensor>>(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [OutputName] = outputs[0] });
            }
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException(
                $"The TorchScript model '{ModelName}' refused its inputs ({string.Join(", ", names.Select(name => $"{name}: {inputs[name]}"))}): {Reason(e.Message)}", e);
        }
        var named = new Dictionary<string, Tensor>(outputs.Length, StringComparer.Ordinal);
        for (var i = 0; i < outputs.Length; i++)
        {
            named[TupleOutputName(i)] = outputs[i];
        }
        return ValueTask.FromResult<IReadOnlyDictionary<string, Tensor>>(named);
    }

    /// <summary>The forward's tensor argument names, in order, each of which <paramref name="inputs"/> holds, and nothing else.</summary>
    private string[] Bind(IReadOnlyDictionary<string, Tensor> inputs)
    {
        var arguments = _forward.Value;
        var tensors = arguments.TakeWhile(a => a.IsTensor).Select(a => a.Name).ToArray();
        if (arguments.Skip(tensors.Length).FirstOrDefault(a => !a.HasDefault) is { } unbindable)
        {
            throw new ArgumentException(
                $"The TorchScript model '{ModelName}''s forward takes '{unbindable.Name}: {unbindable.Type}' after its tensors {string.Join(", ", tensors)}, with no default; " +
                "named inputs are given to the forward's leading Tensor arguments only.");
        }
        var missing = tensors.Where(name => !inputs.ContainsKey(name)).ToArray();
        var unknown = inputs.Keys.Where(name => !tensors.Contains(name, StringComparer.Ordinal)).ToArray();
        if (missing.Length + unknown.Length > 0)
        {
            throw new ArgumentException(
                $"The TorchScript model '{ModelName}' takes inputs {string.Join(", ", tensors)} (its forward's arguments)" +
                (missing.Length > 0 ? $"; missing: {string.Join(", ", missing)}" : "") +
                (unknown.Length > 0 ? $"; unknown: {string.Join(", ", unknown)}" : "") + ".");
        }
        return tensors;
    }

    /// <summary>The input as a TorchSharp tensor of its element type on <see cref="TorchModel.Device"/>, inside the caller's dispose scope.</summary>
    private torch.Tensor ToDevice(Tensor input)
    {
        var value = TorchTensors.ToTorchOfAnyType(input, ModelName);
        if (Device.type != TorchDeviceType.CPU)
        {
            TensorCopies.Record(ModelName, Backend, "cpu to device", value.numel() * value.ElementSize);
            value = value.to(Device);
        }
        return value;
    }

    /// <summary>Calls the module on the arguments <paramref name="arguments"/> makes and converts each tensor it returns; <paramref name="single"/> when it returned one tensor.</summary>
    private Tensor[] Run(Func<object[]> arguments, out bool single)
    {
        var outputs = new List<torch.Tensor>();
        using (torch.NewDisposeScope())
        using (torch.inference_mode())
        {
            object? result;
            try
            {
                result = Call(arguments());
            }
            catch (Exception e) when (e is NotImplementedException or IndexOutOfRangeException)
            {
                // TorchSharp 0.107 converts tensors, scalars, and tuples and lists of them; a dict (as in
                // torchvision's scripted detectors' (losses, detections)) ends here, after the model ran.
                throw new InvalidOperationException(
                    $"The TorchScript model '{ModelName}' returned a value TorchSharp cannot read ({e.Message}); " +
                    "it reads tensors, and tuples and lists of tensors, but no dicts: return a tuple of tensors.", e);
            }
            single = result is torch.Tensor;
            foreach (var tensor in Tensors(result))
            {
                outputs.Add(tensor.MoveToOuterDisposeScope());
            }
        }
        var converted = new Tensor[outputs.Count];
        var done = 0;
        try
        {
            for (; done < converted.Length; done++)
            {
                converted[done] = TorchTensors.FromTorchOfAnyType(outputs[done], ModelName);
            }
        }
        catch
        {
            // The failed output is disposed by the conversion; release the ones before and after it.
            for (var i = 0; i < converted.Length; i++)
            {
                if (i < done)
                {
                    converted[i].Dispose();
                }
                else if (i > done)
                {
                    outputs[i].Dispose();
                }
            }
            throw;
        }
        return converted;
    }

    private IEnumerable<torch.Tensor> Tensors(object? result)
    {
        switch (result)
        {
            case torch.Tensor tensor:
                return [tensor];
            case torch.Tensor[] tensors:
                return tensors;
            case System.Runtime.CompilerServices.ITuple tuple when Enumerable.Range(0, tuple.Length).All(i => tuple[i] is torch.Tensor):
                return Enumerable.Range(0, tuple.Length).Select(i => (torch.Tensor)tuple[i]!);
            default:
                throw new InvalidOperationException(
                    $"The TorchScript model '{ModelName}' returned {result?.GetType().Name ?? "None"}; return one tensor, or a tuple or list of tensors.");
        }
    }

    /// <summary>libtorch's reason: the last line of its message, after the TorchScript traceback ("RuntimeError: Expected tensor ...").</summary>
    private static string Reason(string message) => message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? message;

    public override void Dispose() => _module.Dispose();
}

/// <summary>A C# TorchSharp module with weights from a state_dict or safetensors file.</summary>
public sealed class TorchModuleModel : TorchModel
{
    private readonly torch.nn.Module<torch.Tensor, torch.Tensor> _module;

    public TorchModuleModel(torch.nn.Module<torch.Tensor, torch.Tensor> module, string modelName, torch.Device device) : base(modelName, device)
    {
        _module = module;
    }

    public torch.nn.Module<torch.Tensor, torch.Tensor> Module => _module;

    public override torch.Tensor Forward(torch.Tensor input) => _module.call(input);

    public override void Dispose() => _module.Dispose();
}
