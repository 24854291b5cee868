using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;

namespace Serve.Runtime;

/// <summary>
/// A classifier's class names from <c>index_to_name.json</c>, in either of TorchServe's forms:
/// <c>{"0": "cat"}</c>, or <c>{"0": ["n01440764", "tench"]}</c> where, as TorchServe's
/// <c>load_label_mapping</c> does, the last element is the name.
/// </summary>
public sealed class LabelMap
{
    /// <summary>The file TorchServe reads class names from, in the model directory.</summary>
    public const string FileName = "index_to_name.json";

    /// <summary>The most bytes a label file may hold (ImageNet's 1,000 classes take 35 KB).</summary>
    public const int MaxSize = 8 << 20;

    private readonly Dictionary<int, string> _names;

    private LabelMap(Dictionary<int, string> names) => _names = names;

    /// <summary>The number of named classes.</summary>
    public int Count => _names.Count;

    /// <summary>The name of class <paramref name="index"/>, or its index as text when the map has none (TorchServe's fallback).</summary>
    public string this[int index] => _names.TryGetValue(index, out var name) ? name : index.ToString(CultureInfo.InvariantCulture);

    /// <summary>The name of class <paramref name="index"/>, when the map has one.</summary>
    public bool TryGetName(int index, out string name) => _names.TryGetValue(index, out name!);

    /// <summary>Reads <c>index_to_name.json</c> from a model directory; null when the directory has none.</summary>
    /// <exception cref="ModelLoadException">The file is not JSON, or a key or value is not of either form; the message names the file and key.</exception>
    public static LabelMap? Load(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, FileName);
        return File.Exists(path) ? Read(ModelFiles.Resolve(modelDirectory, FileName, "label file")) : null;
    }

    /// <summary>Reads a label file.</summary>
    public static LabelMap Read(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxSize)
        {
            throw new ModelLoadException($"The label file '{path}' is {length} bytes; the limit is {MaxSize} bytes (label file size).");
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"The label file '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private static LabelMap Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException($"The label file '{path}' must be a JSON object of class index to name, e.g. {{\"0\": \"cat\"}}.");
        }
        var names = new Dictionary<int, string>();
        foreach (var entry in root.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw new ModelLoadException($"The label file '{path}' has the key \"{entry.Name}\"; keys must be class indices such as \"0\".");
            }
            names[index] = entry.Value.ValueKind switch
            {
                JsonValueKind.String => entry.Value.GetString()!,
                JsonValueKind.Array when entry.Value.GetArrayLength() > 0 && entry.Value[entry.Value.GetArrayLength() - 1].ValueKind == JsonValueKind.String
                    => entry.Value[entry.Value.GetArrayLength() - 1].GetString()!,
                _ => throw new ModelLoadException(
                    $"The label file '{path}' maps \"{entry.Name}\" to {entry.Value.ValueKind}; a name must be a string or a list whose last element is a string."),
            };
        }
        return new LabelMap(names);
    }
}
