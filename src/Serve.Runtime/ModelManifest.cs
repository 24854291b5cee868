using System;
using System.Text;
using System.IO;
using System.Text.Json;

namespace Serve.Runtime;

/// <summary>
/// A model archive's <c>MAR-INF/MANIFEST.json</c>, the fields TorchServe's archiver writes:
/// <c>{"createdOn", "runtime", "archiverVersion", "model": {"modelName", "modelVersion",
/// "serializedFile", "handler", "configFile"}}</c>.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>Where the manifest lives in a model directory.</summary>
    public const string RelativePath = "MAR-INF/MANIFEST.json";

    /// <summary>The most bytes a manifest may hold (TorchServe's are a few hundred).</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>The model's name.</summary>
    public required string ModelName { get; init; }

    /// <summary>The model's version (TorchServe's default: 1.0).</summary>
    public string ModelVersion { get; init; } = "1.0";

    /// <summary>The model file, relative to the model directory; null for a model-less handler.</summary>
    public string? SerializedFile { get; init; }

    /// <summary>The handler's registered name (TorchServe: a built-in name or a handler file).</summary>
    public string? Handler { get; init; }

    /// <summary>The model-config.yaml file, relative to the model directory.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The runtime the archiver recorded ("python" for TorchServe archives).</summary>
    public string Runtime { get; init; } = "python";

    /// <summary>When the archive was made, as the archiver wrote it.</summary>
    public string? CreatedOn { get; init; }

    /// <summary>The version of the archiver that made the archive.</summary>
    public string? ArchiverVersion { get; init; }

    /// <summary>Reads <c>MAR-INF/MANIFEST.json</c> under <paramref name="modelDirectory"/>.</summary>
    /// <exception cref="ModelLoadException">The file is missing, not JSON, or lacks a model name.</exception>
    public static ModelManifest Read(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, RelativePath);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new ModelLoadException($"No manifest at '{path}'.");
        }
        if (file.Length > MaxSize)
        {
            throw new ModelLoadException($"The manifest '{path}' is {file.Length} bytes; the limit is {MaxSize} bytes (manifest size).");
        }

        try
        {
            // Editors on Windows save UTF-8 with a byte order mark, which JSON itself does not allow.
            var bytes = File.ReadAllBytes(path).AsMemory();
            if (bytes.Span.StartsWith("\uFEFF"u8))
            {
                bytes = bytes[3..];
            }
            using var document = JsonDocument.Parse(bytes);
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"The manifest '{path}' is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e) when (e.InnerException is DecoderFallbackException)
        {
            // A string that is not UTF-8 (found by tests/Serve.FuzzTests).
            throw new ModelLoadException($"The manifest '{path}' is not valid UTF-8: {e.Message}", e);
        }
    }

    private static ModelManifest Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("model", out var model)
            || model.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException($"The manifest '{path}' has no \"model\" object.");
        }

        var name = GetString(model, "modelName", path);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ModelLoadException($"The manifest '{path}' has no \"model.modelName\".");
        }

        return new ModelManifest
        {
            ModelName = name,
            ModelVersion = GetString(model, "modelVersion", path) ?? "1.0",
            SerializedFile = GetPath(model, "serializedFile", path),
            Handler = GetPath(model, "handler", path),
            ConfigFile = GetPath(model, "configFile", path),
            Runtime = GetString(root, "runtime", path) ?? "python",
            CreatedOn = GetString(root, "createdOn", path),
            ArchiverVersion = GetString(root, "archiverVersion", path),
        };
    }

    // A file the model's directory must hold: refused here when it names a place outside it (absolute, "..").
    // A handler may be a built-in name or "file.py:function"; only its file part is a path.
    private static string? GetPath(JsonElement element, string name, string path)
    {
        var value = GetString(element, name, path);
        var file = name == "handler" && value?.LastIndexOf(':') is > 1 and var entryPoint ? value[..entryPoint] : value;
        return file is { Length: > 0 } && ModelFiles.Problem(file) is { } problem
            ? throw new ModelLoadException($"The manifest '{path}' has \"{name}\": \"{value!.Replace("\0", "\\0", StringComparison.Ordinal)}\", which {problem}; every file of a model must be inside its own directory.")
            : value;
    }

    private static string? GetString(JsonElement element, string name, string path)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new ModelLoadException($"The manifest '{path}' has \"{name}\" as {value.ValueKind}; it must be a string.");
    }
}
