using System;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Serve.Runtime;

namespace Serve.Archives;

/// <summary>A model directory ready to load: where it is and what its manifest says.</summary>
/// <param name="Directory">The directory holding <c>MAR-INF/MANIFEST.json</c> and the model's files.</param>
/// <param name="Manifest">The manifest read from it.</param>
public sealed record UnpackedArchive(string Directory, ModelManifest Manifest);

/// <summary>
/// Opens TorchServe's model archives: a <c>.mar</c> (zip), a <c>.tar.gz</c>/<c>.tgz</c>
/// (<c>--archive-format tgz</c>) or the unpacked form (<c>no-archive</c>, a directory).
/// Unpacking refuses entries whose path leaves the target (zip-slip), links of any kind, device
/// files, and archives that unpack to more than <see cref="ExtractionLimits"/> allow; it writes
/// into a scratch directory and moves it into place only when every entry was good, so a refused
/// archive leaves nothing behind.
/// </summary>
public static class ModelArchiveReader
{
    private const int UnixFileTypeMask = 0xF000;
    private const int UnixSymbolicLink = 0xA000;

    /// <summary>
    /// Opens <paramref name="path"/>: a directory is read in place; an archive file is unpacked
    /// into <paramref name="unpackRoot"/>/<c>{file name without extension}</c>, replacing what was there.
    /// </summary>
    /// <param name="path">A .mar, .tar.gz or .tgz file, or an unpacked model directory.</param>
    /// <param name="unpackRoot">Where archive files are unpacked.</param>
    /// <param name="limits">Bounds on unpacking; <see cref="ExtractionLimits.Default"/> when null.</param>
    /// <param name="progress">Told the number of bytes unpacked so far, as unpacking goes.</param>
    /// <exception cref="ModelArchiveException">The archive is missing, broken, unsafe, too large or has no valid manifest.</exception>
    public static UnpackedArchive Open(string path, string unpackRoot, ExtractionLimits? limits = null, IProgress<long>? progress = null)
    {
        if (Directory.Exists(path))
        {
            return new UnpackedArchive(Path.GetFullPath(path), ReadManifest(path, path));
        }
        if (!File.Exists(path))
        {
            throw new ModelArchiveException($"No model archive at '{Path.GetFullPath(path)}'.");
        }
        RefuseUnlessRegularFile(path);
        var target = Path.Combine(unpackRoot, ModelArchiveFormats.NameWithoutExtension(path));
        return Unpack(path, target, limits ?? ExtractionLimits.Default, progress);
    }

    /// <summary>
    /// How many bytes the archive file declares its entries hold unpacked, for progress ("N of M MB"):
    /// a .mar (zip) states it per entry; a .tar.gz does not (null). Null too for a directory or a file
    /// that is not a readable zip: <see cref="Open"/> then says what is wrong.
    /// </summary>
    public static long? DeclaredUnpackedSize(string path)
    {
        if (!File.Exists(path) || ModelArchiveFormats.IsTarGz(path))
        {
            return null;
        }
        try
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Sum(entry => entry.Length);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return null;
        }
    }

    /// <summary>Unpacks the archive file <paramref name="archivePath"/> into <paramref name="target"/>, replacing what was there.</summary>
    /// <exception cref="ModelArchiveException">The archive is broken, unsafe, too large or has no valid manifest.</exception>
    public static UnpackedArchive Unpack(string archivePath, string target, ExtractionLimits limits, IProgress<long>? progress = null)
    {
        target = Path.GetFullPath(target);
        var scratch = $"{target}.unpacking-{Guid.NewGuid():N}";
        Directory.CreateDirectory(scratch);
        try
        {
            var writer = new BoundedWriter(archivePath, scratch, limits, progress);
            using (var stream = File.OpenRead(archivePath))
            {
                if (ModelArchiveFormats.IsTarGz(archivePath))
                {
                    UnpackTarGz(stream, writer);
                }
                else
                {
                    UnpackZip(stream, writer);
                }
            }

            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(scratch, target);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new ModelArchiveException($"The model archive '{archivePath}' is broken: {e.Message}", e);
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }

        // torch-model-archiver's tgz puts every file under a "{model name}/" directory.
        var modelDirectory = File.Exists(Path.Combine(target, ModelManifest.RelativePath))
            ? target
            : Directory.EnumerateDirectories(target).SingleOrDefault(d => File.Exists(Path.Combine(d, ModelManifest.RelativePath))) ?? target;
        return new UnpackedArchive(modelDirectory, ReadManifest(modelDirectory, archivePath));
    }

    /// <summary>
    /// Refuses a FIFO, a device or /proc file before anything opens it: opening a FIFO blocks until
    /// a writer comes, and /dev/zero never ends. Each reports a size of 0, which no archive has.
    /// </summary>
    /// <exception cref="ModelArchiveException">The path is not a regular file with content.</exception>
    public static void RefuseUnlessRegularFile(string path)
    {
        var file = new FileInfo(path);
        if (file.Length == 0)
        {
            throw new ModelArchiveException($"The model archive '{path}' is empty or not a regular file.");
        }
    }

    private static void UnpackZip(Stream stream, BoundedWriter writer)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        // The sizes the archive declares refuse a bomb before anything is written; the writer
        // counts what is really written, since a declared size can lie.
        writer.CheckDeclared(zip.Entries.Count, zip.Entries.Sum(entry => entry.Length));
        foreach (var entry in zip.Entries)
        {
            if (((entry.ExternalAttributes >> 16) & UnixFileTypeMask) == UnixSymbolicLink)
            {
                throw writer.Refuse(entry.FullName, "is a symbolic link; archives may hold only files and directories");
            }
            if (entry.FullName.EndsWith('/'))
            {
                writer.Directory(entry.FullName);
                continue;
            }
            using var data = entry.Open();
            writer.File(entry.FullName, data);
        }
    }

    private static void UnpackTarGz(Stream stream, BoundedWriter writer)
    {
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    writer.Directory(entry.Name);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    writer.File(entry.Name, entry.DataStream ?? Stream.Null);
                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    throw writer.Refuse(entry.Name, $"is a {(entry.EntryType == TarEntryType.HardLink ? "hard" : "symbolic")} link to '{entry.LinkName}'; archives may hold only files and directories");
                default:
                    throw writer.Refuse(entry.Name, $"is a {entry.EntryType} entry; archives may hold only files and directories");
            }
        }
    }

    private static ModelManifest ReadManifest(string directory, string source)
    {
        if (!File.Exists(Path.Combine(directory, ModelManifest.RelativePath)))
        {
            throw new ModelArchiveException($"The model archive '{source}' has no {ModelManifest.RelativePath}; make it with `serve archive` or torch-model-archiver.");
        }
        try
        {
            return ModelManifest.Read(directory);
        }
        catch (ModelLoadException e)
        {
            throw new ModelArchiveException($"The model archive '{source}': {e.Message}", e);
        }
    }
}
