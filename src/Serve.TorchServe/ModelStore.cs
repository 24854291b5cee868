using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Serve.Runtime;

namespace Serve.TorchServe;

/// <summary>An archive to load at start: the name to serve it under (null: the manifest's) and its path.</summary>
public sealed record ModelToLoad(string? Name, string Path);

/// <summary>TorchServe's model store: the directory <c>load_models</c> and <c>--models</c> name archives in.</summary>
public static class ModelStore
{
    /// <summary>
    /// The archives <paramref name="loadModels"/> selects: <c>all</c> (every .mar, .tar.gz, .tgz
    /// and unpacked model directory in the store), <c>standalone</c> or empty (none), or a
    /// comma-separated list of <c>file.mar</c> and <c>name=file.mar</c>.
    /// </summary>
    /// <exception cref="ConfigPropertiesException">The store is missing or a named archive is not in it.</exception>
    public static IReadOnlyList<ModelToLoad> Select(string? modelStore, string? loadModels)
    {
        if (string.IsNullOrWhiteSpace(loadModels) || loadModels.Trim() == "standalone")
        {
            return [];
        }
        if (modelStore is null || !Directory.Exists(modelStore))
        {
            throw new ConfigPropertiesException(modelStore is null
                ? $"load_models={loadModels} needs a model store: pass --model-store DIR or set model_store."
                : $"The model store '{Path.GetFullPath(modelStore)}' does not exist.");
        }

        if (loadModels.Trim() == "all")
        {
            return [.. Archives(modelStore).Select(path => new ModelToLoad(null, path))];
        }

        var policy = new ModelUrlPolicy([], modelStore);
        var selected = new List<ModelToLoad>();
        foreach (var item in loadModels.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = item.IndexOf('=');
            var name = separator < 0 ? null : item[..separator].Trim();
            var file = separator < 0 ? item : item[(separator + 1)..].Trim();
            string path;
            try
            {
                path = policy.Check(file).Location;
            }
            catch (ModelUrlRefusedException e)
            {
                throw new ConfigPropertiesException($"load_models: {e.Message}");
            }
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                var present = Archives(modelStore).Select(Path.GetFileName).ToArray();
                throw new ConfigPropertiesException(
                    $"load_models: '{file}' is not in the model store '{Path.GetFullPath(modelStore)}' (it holds: {(present.Length == 0 ? "nothing" : string.Join(", ", present))}).");
            }
            selected.Add(new ModelToLoad(name, path));
        }
        return selected;
    }

    /// <summary>The archive files and unpacked model directories in <paramref name="modelStore"/>, in name order.</summary>
    public static IEnumerable<string> Archives(string modelStore) =>
        Directory.EnumerateFiles(modelStore)
            .Where(f => f.EndsWith(".mar", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase))
            .Concat(Directory.EnumerateDirectories(modelStore).Where(d => File.Exists(Path.Combine(d, ModelManifest.RelativePath))))
            .Order(StringComparer.Ordinal);
}
