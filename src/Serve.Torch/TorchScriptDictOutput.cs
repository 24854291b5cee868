using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Serve.Runtime;

namespace Serve.Torch;

/// <summary>
/// torchvision's segmentation models, scripted as TorchServe users save them, return
/// <c>Dict[str, Tensor]</c> (<c>{"out": ..., "aux": ...}</c>), which TorchSharp 0.107 cannot read: its
/// native return helper has no dicts, so every call fails after the model ran (an
/// IndexOutOfRangeException from TorchSharp). TorchServe's image_segmenter reads <c>"out"</c>; so does
/// this: at load, the root class's code gets one more method, <see cref="MethodName"/>, which calls
/// <c>forward</c> and returns its <c>"out"</c>, and the module is loaded from those bytes (in memory;
/// the file is not changed). TorchScript recompiles a module's classes from the code in the file,
/// so the method is compiled as the user's own code is.
/// </summary>
internal static partial class TorchScriptDictOutput
{
    public const string MethodName = "serve_forward_out";

    /// <summary>The entry of the dict a dict-returning model is served by.</summary>
    public const string Key = "out";

    /// <summary>The file with <see cref="MethodName"/> added when its forward returns <c>Dict[str, Tensor]</c>; else null.</summary>
    /// <exception cref="ModelLoadException">The forward returns another type holding a dict, which TorchSharp cannot return: refused at load, not at every request.</exception>
    public static byte[]? WithTensorMethod(string path, string modelName)
    {
        using var zip = ZipFile.OpenRead(path);
        var rootClass = TorchScriptSignature.RootClass(zip);
        if (rootClass is null)
        {
            return null;
        }
        var forward = new Regex(@"^(?<indent>[ \t]*)def forward\(self: " + Regex.Escape(rootClass) + @"(?<arguments>[^)]*)\) -> (?<returns>[^\n]+):[ \t]*$", RegexOptions.Multiline);
        foreach (var entry in zip.Entries.Where(e => e.FullName.Contains("/code/", StringComparison.Ordinal) && e.FullName.EndsWith(".py", StringComparison.Ordinal)))
        {
            string code;
            using (var reader = new StreamReader(entry.Open()))
            {
                code = reader.ReadToEnd();
            }
            if (forward.Match(code) is { Success: true } match)
            {
                var returns = match.Groups["returns"].Value.Trim();
                if (returns != "Dict[str, Tensor]")
                {
                    return returns.Contains("Dict[", StringComparison.Ordinal)
                        ? throw new ModelLoadException(
                            $"Model '{modelName}': the forward of '{Path.GetFileName(path)}' returns {returns}, and TorchSharp 0.107 cannot return dicts, so every request would fail. " +
                            "Return a tensor or a tuple of tensors (a torchvision detector: scripts/export_torchserve_detector.py); a forward returning Dict[str, Tensor] alone is served by its \"out\".")
                        : null;
                }
                var indent = match.Groups["indent"].Value;
                var arguments = match.Groups["arguments"].Value;
                var names = string.Join(", ", TorchScriptSignature.Arguments(arguments).Select(a => a.Name));
                var method =
                    $"{indent}def {MethodName}(self: {rootClass}{arguments}) -> Tensor:\n" +
                    $"{indent}  _0 = (self).forward({names}, )\n" +
                    $"{indent}  return _0[\"{Key}\"]\n";
                return Rewrite(zip, entry.FullName, code.Insert(match.Index, method));
            }
        }
        return null;
    }

    /// <summary>The archive with one code file replaced; that file's debug records (source ranges of the old text) are left out.</summary>
    private static byte[] Rewrite(ZipArchive original, string codeEntry, string code)
    {
        using var buffer = new MemoryStream();
        using (var rewritten = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in original.Entries)
            {
                if (entry.FullName == codeEntry + ".debug_pkl")
                {
                    continue;
                }
                var copy = rewritten.CreateEntry(entry.FullName, entry.FullName.Contains("/data/", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
                using var target = copy.Open();
                if (entry.FullName == codeEntry)
                {
                    target.Write(Encoding.UTF8.GetBytes(code));
                }
                else
                {
                    using var source = entry.Open();
                    source.CopyTo(target);
                }
            }
        }
        return buffer.ToArray();
    }
}
