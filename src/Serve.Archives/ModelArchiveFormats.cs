using System;
using System.IO;

namespace Serve.Archives;

/// <summary>torch-model-archiver's <c>--archive-format</c> values.</summary>
public enum ModelArchiveFormat
{
    /// <summary><c>default</c>: a zip named <c>{model}.mar</c>.</summary>
    Default,

    /// <summary><c>tgz</c>: a gzipped tar named <c>{model}.tar.gz</c> with every file under <c>{model}/</c>.</summary>
    Tgz,

    /// <summary><c>no-archive</c>: the unpacked form, a directory <c>{model}/</c>.</summary>
    NoArchive,
}

internal static class ModelArchiveFormats
{
    public static bool IsTarGz(string path) =>
        path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    public static string NameWithoutExtension(string path)
    {
        var name = Path.GetFileName(path.TrimEnd('/', Path.DirectorySeparatorChar));
        return name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ? name[..^".tar.gz".Length] : Path.GetFileNameWithoutExtension(name);
    }

    public static string FileName(string modelName, ModelArchiveFormat format) => format switch
    {
        ModelArchiveFormat.Tgz => modelName + ".tar.gz",
        ModelArchiveFormat.NoArchive => modelName,
        _ => modelName + ".mar",
    };
}
