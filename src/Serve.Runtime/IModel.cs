using System;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>A model loaded by a backend (ONNX Runtime, TorchSharp...).</summary>
public interface IModel : IDisposable
{
    /// <summary>The backend that loaded it, e.g. "onnxruntime".</summary>
    string Backend { get; }

    /// <summary>
    /// True when the model may run on several threads at once (an ONNX Runtime session, a
    /// TorchScript module): the workers on one device then share one copy (<see cref="ModelCopies"/>).
    /// </summary>
    bool IsThreadSafe => false;
}

/// <summary>
/// A loaded model that runs <typeparamref name="TInput"/> to <typeparamref name="TOutput"/>.
/// A handler without an <c>[Inference]</c> stage runs its model through this interface, with
/// its preprocess output as the input and its postprocess input as the output.
/// </summary>
public interface IModel<in TInput, TOutput> : IModel
{
    /// <summary>Runs the model on <paramref name="input"/>.</summary>
    ValueTask<TOutput> RunAsync(TInput input, CancellationToken cancellationToken);
}

/// <summary>Loads model files of the formats one backend understands.</summary>
public interface IModelLoader
{
    /// <summary>The backend's name, e.g. "onnxruntime".</summary>
    string Backend { get; }

    /// <summary>True when this backend reads the given serialized file (by its content where formats share an extension).</summary>
    bool CanLoad(string serializedFilePath);

    /// <summary>The accelerators this backend can run on here; the device is chosen from them before <see cref="Load"/>.</summary>
    AcceleratorInventory Accelerators => AcceleratorInventory.None;

    /// <summary>Loads the model the context's manifest names, on the context's device.</summary>
    IModel Load(HandlerContext context);
}
