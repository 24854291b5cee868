using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Serve.Archives;

/// <summary>What <c>serve archive</c> (torch-model-archiver's flags) asks for.</summary>
public sealed record ArchiveSpec
{
    /// <summary><c>--model-name</c>: letters, digits, <c>_ - .</c>, not starting with a symbol.</summary>
    public required string ModelName { get; init; }

    /// <summary><c>--version</c>.</summary>
    public string? Version { get; init; }

    /// <summary><c>--serialized-file</c>: the weights; optional for a handler without a model.</summary>
    public string? SerializedFile { get; init; }

    /// <summary><c>--handler</c>: the name of a handler compiled into the server (no code is copied or loaded).</summary>
    public required string Handler { get; init; }

    /// <summary><c>--extra-files</c>: files, directories (their contents are copied) or wildcards.</summary>
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];

    /// <summary><c>--config-file</c>: a model-config.yaml.</summary>
    public string? ConfigFile { get; init; }

    /// <summary><c>--requirements-file</c>: recorded and copied as TorchServe does; we install nothing from it.</summary>
    public string? RequirementsFile { get; init; }

    /// <summary><c>--export-path</c>: where the archive is written (created if missing).</summary>
    public string ExportPath { get; init; } = ".";

    /// <summary><c>--archive-format</c>.</summary>
    public ModelArchiveFormat Format { get; init; } = ModelArchiveFormat.Default;

    /// <summary><c>--force</c>: overwrite an existing archive.</summary>
    public bool Force { get; init; }
}

/// <summary>
/// Writes model archives as torch-model-archiver does: the given files flat at the root,
/// <c>MAR-INF/MANIFEST.json</c> with the same fields in the same order, as a .mar (deflated zip),
/// a .tar.gz under <c>{model}/</c>, or a directory.
/// </summary>
public static partial class ModelArchiveWriter
{
    /// <summary>The version written as <c>archiverVersion</c>.</summary>
    public static string ArchiverVersion { get; } = typeof(ModelArchiveWriter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")]
    private static partial Regex ModelNamePattern();

    /// <summary>Writes the archive and returns its path.</summary>
    /// <param name="spec">The flags.</param>
    /// <param name="createdOn">The time written as <c>createdOn</c> (local time in TorchServe's <c>dd/MM/yyyy HH:mm:ss</c>).</param>
    /// <exception cref="ModelArchiveException">A flag is invalid, an input file is missing, or the archive exists without <c>--force</c>.</exception>
    public static string Write(ArchiveSpec spec, DateTime createdOn)
    {
        if (!ModelNamePattern().IsMatch(spec.ModelName))
        {
            throw new ModelArchiveException($"The model name '{spec.ModelName}' has characters an archive name may not: use letters, digits, '_', '-' and '.', starting with a letter or digit.");
        }
        if (string.IsNullOrWhiteSpace(spec.Handler))
        {
            throw new ModelArchiveException("--handler is empty: name a handler compiled into the server, e.g. image_classifier.");
        }

        var files = CollectFiles(spec);
        var manifest = ManifestJson(spec, createdOn);

        if (File.Exists(spec.ExportPath))
        {
            throw new ModelArchiveException($"--export-path '{spec.ExportPath}' is a file; give a directory.");
        }
        Directory.CreateDirectory(spec.ExportPath);
        var output = Path.Combine(spec.ExportPath, ModelArchiveFormats.FileName(spec.ModelName, spec.Format));
        if (File.Exists(output) || Directory.Exists(output))
        {
            if (!spec.Force)
            {
                throw new ModelArchiveException($"'{output}' already exists; pass --force to overwrite it.");
            }
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
            else
            {
                File.Delete(output);
            }
        }

        switch (spec.Format)
        {
            case ModelArchiveFormat.NoArchive:
                foreach (var (name, source) in files)
                {
                    var path = Path.Combine(output, name);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.Copy(source, path);
                }
                Directory.CreateDirectory(Path.Combine(output, "MAR-INF"));
                File.WriteAllBytes(Path.Combine(output, Runtime.ModelManifest.RelativePath), manifest);
                break;
            case ModelArchiveFormat.Tgz:
                using (var stream = File.Create(output))
                using (var gzip = new GZipStream(stream, CompressionLevel.Optimal))
                using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
                {
                    foreach (var (name, source) in files)
                    {
                        tar.WriteEntry(source, $"{spec.ModelName}/{name}");
                    }
                    tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{spec.ModelName}/{Runtime.ModelManifest.RelativePath}") { DataStream = new MemoryStream(manifest) });
                }
                break;
            default:
                using (var zip = ZipFile.Open(output, ZipArchiveMode.Create))
                {
                    foreach (var (name, source) in files)
                    {
                        zip.CreateEntryFromFile(source, name, CompressionLevel.Optimal);
                    }
                    using var entry = zip.CreateEntry(Runtime.ModelManifest.RelativePath, CompressionLevel.Optimal).Open();
                    entry.Write(manifest);
                }
                break;
        }
        return output;
    }

    /// <summary>The manifest torch-model-archiver would write for <paramref name="spec"/>: same fields, same order, two-space indent.</summary>
    public static byte[] ManifestJson(ArchiveSpec spec, DateTime createdOn)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("createdOn", createdOn.ToString("dd/MM/yyyy HH:mm:ss", CultureInfo.InvariantCulture));
            json.WriteString("runtime", "python");
            json.WriteStartObject("model");
            json.WriteString("modelName", spec.ModelName);
            if (spec.SerializedFile is not null)
            {
                json.WriteString("serializedFile", Path.GetFileName(spec.SerializedFile));
            }
            json.WriteString("handler", Path.GetFileName(spec.Handler));
            if (!string.IsNullOrEmpty(spec.Version))
            {
                json.WriteString("modelVersion", spec.Version);
            }
            if (spec.RequirementsFile is not null)
            {
                json.WriteString("requirementsFile", Path.GetFileName(spec.RequirementsFile));
            }
            if (spec.ConfigFile is not null)
            {
                json.WriteString("configFile", Path.GetFileName(spec.ConfigFile));
            }
            json.WriteEndObject();
            json.WriteString("archiverVersion", ArchiverVersion);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The files to archive: name in the archive → file on disk, as torch-model-archiver copies them (flat; a directory's contents at the root).</summary>
    private static SortedDictionary<string, string> CollectFiles(ArchiveSpec spec)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void AddFile(string flag, string? path)
        {
            if (path is null)
            {
                return;
            }
            if (!File.Exists(path))
            {
                throw new ModelArchiveException($"{flag} '{path}' does not exist.");
            }
            files[Path.GetFileName(path)] = Path.GetFullPath(path);
        }

        AddFile("--serialized-file", spec.SerializedFile);
        AddFile("--config-file", spec.ConfigFile);
        AddFile("--requirements-file", spec.RequirementsFile);
        foreach (var extra in spec.ExtraFiles.Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            if (Directory.Exists(extra))
            {
                foreach (var file in Directory.EnumerateFiles(extra, "*", SearchOption.AllDirectories))
                {
                    files[Path.GetRelativePath(extra, file).Replace(Path.DirectorySeparatorChar, '/')] = Path.GetFullPath(file);
                }
            }
            else if (extra.IndexOfAny(['*', '?']) >= 0)
            {
                var directory = Path.GetDirectoryName(extra) is { Length: > 0 } d ? d : ".";
                foreach (var file in Directory.EnumerateFiles(directory, Path.GetFileName(extra)))
                {
                    files[Path.GetFileName(file)] = Path.GetFullPath(file);
                }
            }
            else
            {
                AddFile("--extra-files", extra);
            }
        }
        files.Remove(Runtime.ModelManifest.RelativePath);
        return files;
    }
}
