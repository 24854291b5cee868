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
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"No manifest at '{path}'.");
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
            SerializedFile = GetString(model, "serializedFile", path),
            Handler = GetString(model, "handler", path),
            ConfigFile = GetString(model, "configFile", path),
            Runtime = GetString(root, "runtime", path) ?? "python",
            CreatedOn = GetString(root, "createdOn", path),
            ArchiverVersion = GetString(root, "archiverVersion", path),
        };
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
