using System;
using System.Collections.Generic;
using TorchSharp;

namespace Serve.Torch;

/// <summary>The C# modules that weights-only model files (state_dict, safetensors) load into.</summary>
public sealed class TorchOptions
{
    private readonly Dictionary<string, Func<torch.nn.Module<torch.Tensor, torch.Tensor>>> _modules = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes the default initialize load model <paramref name="modelName"/>'s weights into the
    /// module <paramref name="create"/> builds (TorchServe's <c>modelFile</c> for eager models).
    /// </summary>
    public TorchOptions AddModule(string modelName, Func<torch.nn.Module<torch.Tensor, torch.Tensor>> create)
    {
        _modules[modelName] = create;
        return this;
    }

    internal bool TryGetModule(string modelName, out Func<torch.nn.Module<torch.Tensor, torch.Tensor>> create) =>
        _modules.TryGetValue(modelName, out create!);
}
