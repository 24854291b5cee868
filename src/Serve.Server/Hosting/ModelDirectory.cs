using System;
using System.IO;
using System.Collections.Generic;
using System.Linq;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// Reads what a model directory declares: its manifest (or one made up from the options when
/// the directory has none), the registered handler it names, and its model-config.yaml.
/// </summary>
public static class ModelDirectory
{
    public const string DefaultConfigFile = "model-config.yaml";

    private static readonly string[] ModelExtensions = [".onnx", ".pt", ".pth", ".safetensors", ".so"];

    public static (ModelManifest Manifest, ModelConfig Config) Read(ModelOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Name))
        {
            throw new ModelLoadException("A configured model has no Name.");
        }
        ModelNames.Validate(options.Name, "model name");
        if (!Directory.Exists(options.Path))
        {
            throw new ModelLoadException($"Model '{options.Name}': the directory '{Path.GetFullPath(options.Path)}' does not exist.");
        }

        var manifest = File.Exists(Path.Combine(options.Path, ModelManifest.RelativePath))
            ? ModelManifest.Read(options.Path)
            : new ModelManifest { ModelName = options.Name, SerializedFile = FindModelFile(options) };
        manifest = manifest with
        {
            ModelName = options.Name,
            // One resolution whatever the load path: TorchServe's handler file forms ("handlers/digits.py:handle") name the registered handler.
            Handler = ManifestHandler.RegisteredName(options.Handler ?? manifest.Handler ?? options.Name),
            SerializedFile = options.SerializedFile ?? manifest.SerializedFile,
        };

        ModelNames.Validate(manifest.ModelVersion, "model version");
        if (manifest.SerializedFile is { } serializedFile)
        {
            ModelFiles.Resolve(options.Path, serializedFile, "serialized file");
        }

        var configFile = manifest.ConfigFile
            ?? (File.Exists(Path.Combine(options.Path, DefaultConfigFile)) ? DefaultConfigFile : null);
        var config = configFile is null ? ModelConfig.Default : ModelConfig.Read(ModelFiles.Resolve(options.Path, configFile, "model config"));
        return (manifest with { ConfigFile = configFile }, config);
    }

    private static string? FindModelFile(ModelOptions options)
    {
        if (options.SerializedFile is not null)
        {
            return options.SerializedFile;
        }
        var candidates = Directory.EnumerateFiles(options.Path)
            .Where(file => ModelExtensions.Contains(Path.GetExtension(file), StringComparer.OrdinalIgnoreCase))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .ToArray();
        return candidates.Length switch
        {
            0 => null,
            1 => candidates[0],
            _ => throw new ModelLoadException(
                $"Model '{options.Name}': '{options.Path}' holds several model files ({string.Join(", ", candidates)}); set SerializedFile to choose one."),
        };
    }
}
