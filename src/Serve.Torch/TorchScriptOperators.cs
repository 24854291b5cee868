using System;
using System.IO;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Serve.Runtime;

namespace Serve.Torch;

/// <summary>
/// Refuses TorchScript files that call torchvision's C++ operators (<c>torchvision::nms</c>,
/// <c>roi_align</c>, ...: every scripted torchvision detector does), before libtorch sees them.
/// TorchSharp's libtorch has no torchvision library, and loading such a file does not fail
/// cleanly: libtorch throws a <c>torch::jit::ErrorReport</c> that nothing catches, and the
/// process aborts (checked with TorchSharp 0.107 and libtorch 2.10).
/// </summary>
internal static partial class TorchScriptOperators
{
    /// <exception cref="ModelLoadException">The file's code calls a torchvision operator; the message names it.</exception>
    public static void RefuseUnavailable(string path, string modelName)
    {
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            if (!entry.FullName.Contains("/code/", StringComparison.Ordinal) || !entry.FullName.EndsWith(".py", StringComparison.Ordinal))
            {
                continue;
            }
            using var reader = new StreamReader(entry.Open());
            if (TorchvisionCall().Match(reader.ReadToEnd()) is { Success: true } call)
            {
                throw new ModelLoadException(
                    $"Model '{modelName}': '{Path.GetFileName(path)}' calls torchvision's C++ operator torchvision::{call.Groups[1].Value} " +
                    $"({entry.FullName}), which TorchSharp's libtorch does not have (libtorch would abort the process loading it). " +
                    "Export the model to ONNX, or script it with that operator written in TorchScript (see docs/builtins.md, object_detector).");
            }
        }
    }

    [GeneratedRegex(@"\bops\.torchvision\.(\w+)\(")]
    private static partial Regex TorchvisionCall();
}
