using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Serve.Runtime;
using Tensor = TorchSharp.torch.Tensor;
using Serve.Torch.Pickles;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Serve.Torch;

/// <summary>
/// Loads PyTorch weights (a <c>torch.save</c> state_dict or <c>.safetensors</c>) into a C#
/// <see cref="nn.Module"/>, the building block of the default initialize for eager models and of
/// handlers that load their own. A state_dict's pickles are scanned first (<see cref="PickleScanner"/>):
/// only tensors, storages and OrderedDict may be named. Then every key and shape is checked
/// against the module, and all differences are reported at once, by name.
/// </summary>
internal static class TorchWeights
{
    /// <summary>Loads the weights in <paramref name="path"/> into <paramref name="module"/>.</summary>
    /// <exception cref="ModelLoadException">Not a weights file, a refused pickle, or keys and shapes that do not match the module.</exception>
    public static void Load(nn.Module module, string path)
    {
        var file = Path.GetFileName(path);
        var format = TorchFileFormats.Detect(path);
        Dictionary<string, Tensor> weights;
        switch (format)
        {
            case TorchFileFormat.StateDict:
                ScanPickles(path);
                weights = ReadStateDict(path);
                break;
            case TorchFileFormat.Safetensors:
                weights = Safetensors.LoadStateDict(path);
                break;
            case TorchFileFormat.LegacyPickle:
                throw new ModelLoadException(
                    $"'{file}' is a torch.save file in the pre-1.6 format (a bare pickle); re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.");
            case TorchFileFormat.TorchScript:
                throw new ModelLoadException($"'{file}' is a TorchScript model, not weights; serve it without a C# module.");
            default:
                throw new ModelLoadException($"'{file}' is neither a torch.save state_dict (a zip with data.pkl) nor a .safetensors file.");
        }

        try
        {
            Check(module, weights, file);
            module.load_state_dict(weights, strict: true);
        }
        finally
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Scans every pickle in a torch.save zip; throws naming the first refused global.</summary>
    /// <exception cref="ModelLoadException">A pickle names a global off the allow-list, or is malformed.</exception>
    public static void ScanPickles(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".pkl", StringComparison.Ordinal)))
        {
            using var stream = entry.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            try
            {
                PickleScanner.Scan(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), $"'{Path.GetFileName(path)}' ({entry.FullName})");
            }
            catch (UnsafePickleException e)
            {
                throw new ModelLoadException(e.Message, e);
            }
        }
    }

    private static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ModelLoadException($"'{Path.GetFileName(path)}' could not be read as a state_dict: {e.Message}", e);
        }
        var weights = new Dictionary<string, Tensor>(table.Count, StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is not string key || entry.Value is not Tensor tensor)
            {
                throw new ModelLoadException(
                    $"'{Path.GetFileName(path)}' holds {entry.Key} = {entry.Value?.GetType().Name ?? "null"}; a state_dict maps names to tensors.");
            }
            weights[key] = tensor;
        }
        return weights;
    }

    /// <summary>Compares names and shapes with the module's own state_dict and reports every difference.</summary>
    private static void Check(nn.Module module, Dictionary<string, Tensor> weights, string file)
    {
        var expected = module.state_dict();
        var missing = expected.Keys.Where(k => !weights.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = expected
            .Where(e => weights.TryGetValue(e.Key, out var w) && !w.shape.SequenceEqual(e.Value.shape))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key} is {Shape(weights[e.Key].shape)} in the file but {Shape(e.Value.shape)} in the module")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count == 0)
        {
            return;
        }
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"missing keys: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected keys: {string.Join(", ", unexpected)}");
        if (mismatched.Count > 0) problems.Add($"shape mismatches: {string.Join("; ", mismatched)}");
        throw new ModelLoadException($"'{file}' does not fit {module.GetType().Name}: {string.Join("; ", problems)}.");
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
