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

    public ValueTask<Tensor<float>> RunAsync(IReadOnlyList<Tensor<float>> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Run(TensorBatch.Stack(inputs, ModelName, Backend)));
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

    /// <summary>The input as a TorchSharp tensor on <see cref="Device"/>, inside the caller's dispose scope.</summary>
    private protected torch.Tensor ToDevice(Tensor<float> input)
    {
        var value = TorchTensors.ToTorch(input, ModelName);
        if (Device.type != TorchDeviceType.CPU)
        {
            TensorCopies.Record(ModelName, Backend, "cpu to device", input.Length * sizeof(float));
            value = value.to(Device);
        }
        return value;
    }

    public abstract void Dispose();
}

/// <summary>
/// A TorchScript model (<c>torch.jit.save</c>), loaded by libtorch. Besides one tensor, it can
/// return every output of a model that returns a tuple or list of tensors (a detector's boxes,
/// labels and scores), in order.
/// </summary>
public sealed class TorchScriptModel : TorchModel, IModel<Tensor<float>, IReadOnlyList<Tensor>>
{
    private readonly torch.jit.ScriptModule _module;

    public TorchScriptModel(string path, string modelName, torch.Device device) : base(modelName, device)
    {
        _module = torch.jit.load(path, device);
        _module.eval();
    }

    public torch.jit.ScriptModule Module => _module;

    public override torch.Tensor Forward(torch.Tensor input) => _module.call(input) switch
    {
        torch.Tensor tensor => tensor,
        var other => throw new InvalidOperationException(
            $"The TorchScript model '{ModelName}' returned {other?.GetType().Name ?? "null"}, not one tensor; declare an [Inference] stage that calls TorchScriptModel.Module."),
    };

    /// <summary>Runs the model on one input and returns its tensor, or each tensor of the tuple or list it returns; the caller disposes them.</summary>
    ValueTask<IReadOnlyList<Tensor>> IModel<Tensor<float>, IReadOnlyList<Tensor>>.RunAsync(Tensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var outputs = new List<torch.Tensor>();
        using (torch.NewDisposeScope())
        using (torch.inference_mode())
        {
            object? result;
            try
            {
                result = _module.call(ToDevice(input));
            }
            catch (NotImplementedException e)
            {
                // TorchSharp 0.107 converts tensors, scalars, and tuples and lists of them; a dict (as in
                // torchvision's scripted detectors' (losses, detections)) ends here, after the model ran.
                throw new InvalidOperationException(
                    $"The TorchScript model '{ModelName}' returned a value TorchSharp cannot read ({e.Message}); " +
                    "it reads tensors, and tuples and lists of tensors, but no dicts: return a tuple of tensors.", e);
            }
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
        return ValueTask.FromResult<IReadOnlyList<Tensor>>(converted);
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
