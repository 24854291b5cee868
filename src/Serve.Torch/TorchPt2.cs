using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Torch;

/// <summary>
/// The <c>pt2</c> section for TorchSharp models. TorchSharp has no torch.compile and exposes
/// neither <c>torch.jit.freeze</c> nor <c>optimize_for_inference</c>, so nothing can stand in for
/// compilation: every option that asks for it is refused by name, with what to do instead.
/// </summary>
internal static class TorchPt2
{
    public const string AotInductorRefusal =
        "AOTInductor models (pt2.export.aot_compile, a .so from torch._export.aot_compile) are not supported: " +
        "loading one needs libtorch's AOTIModelContainerRunner, which TorchSharp 0.107 does not expose, and no fixture can be made here " +
        "(Debian's PyTorch 1.13 predates AOTInductor, added in 2.2). Serve the model as TorchScript (torch.jit.save) or ONNX instead.";

    /// <summary>What was applied, for the log; throws on what cannot be honoured.</summary>
    /// <exception cref="ModelLoadException">An option that asks for compilation or export.</exception>
    public static IReadOnlyList<string> Apply(Pt2Settings pt2, string modelName)
    {
        if (pt2.AotCompile)
        {
            throw new ModelLoadException($"Model '{modelName}': pt2.export.aot_compile: {AotInductorRefusal}");
        }
        if (pt2.CompileEnabled)
        {
            throw new ModelLoadException(
                $"Model '{modelName}': pt2.compile{(pt2.Backend is null ? "" : $" (backend {pt2.Backend})")} cannot be honoured by the TorchSharp backend: " +
                "it has no torch.compile and exposes neither torch.jit.freeze nor torch.jit.optimize_for_inference. " +
                "Freeze the model in Python before saving it (torch.jit.save(torch.jit.freeze(torch.jit.script(model.eval())), path)), or export it to ONNX " +
                "where pt2.compile maps to ONNX Runtime's graph optimizations; then remove pt2.compile.");
        }
        foreach (var option in pt2.InductorOptions)
        {
            throw new ModelLoadException($"Model '{modelName}': {option} is an Inductor option; the TorchSharp backend has no Inductor.");
        }
        return pt2.IsEmpty ? [] : ["pt2.compile.enable is false: nothing to compile"];
    }
}
