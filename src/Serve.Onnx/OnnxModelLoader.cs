using System;
using System.IO;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;

namespace Serve.Onnx;

/// <summary>Loads <c>.onnx</c> files into ONNX Runtime sessions on the CPU.</summary>
public sealed class OnnxModelLoader : IModelLoader
{
    public const string BackendName = "onnxruntime";

    public string Backend => BackendName;

    public bool CanLoad(string serializedFilePath) =>
        string.Equals(Path.GetExtension(serializedFilePath), ".onnx", StringComparison.OrdinalIgnoreCase);

    public IModel Load(HandlerContext context)
    {
        var path = context.SerializedFilePath!;
        if (context.Device.Type != DeviceType.Cpu)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': the ONNX Runtime package in use runs on the CPU only, not on {context.Device}.");
        }

        InferenceSession session;
        try
        {
            session = new InferenceSession(path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': ONNX Runtime cannot load '{Path.GetFileName(path)}': {e.Message}", e);
        }

        if (session.InputMetadata.Count != 1 || session.OutputMetadata.Count < 1)
        {
            var inputs = session.InputMetadata.Count;
            session.Dispose();
            throw new ModelLoadException(
                $"Model '{context.ModelName}' has {inputs} inputs; the default ONNX inference runs models with one input. Declare an [Inference] stage that runs OnnxModel.Session.");
        }
        foreach (var input in session.InputMetadata.Values)
        {
            if (input.ElementType != typeof(float))
            {
                session.Dispose();
                throw new ModelLoadException($"Model '{context.ModelName}' takes {input.ElementType.Name} input; the default ONNX inference runs float models.");
            }
        }
        return new OnnxModel(session);
    }
}
