using System;
using System.IO;

namespace Serve.Archives;

/// <summary>Writes an archive's entries under one directory, refusing paths that leave it and counting bytes and entries against the limits.</summary>
internal sealed class BoundedWriter(string archivePath, string root, ExtractionLimits limits, IProgress<long>? progress)
{
    private readonly string _root = Path.GetFullPath(root) + Path.DirectorySeparatorChar;
    private readonly byte[] _buffer = new byte[81920];
    private readonly long _maxByRatio = Math.Max(ExtractionLimits.RatioExemptBytes, new FileInfo(archivePath).Length * (long)limits.MaxCompressionRatio);
    private long _bytes;
    private int _entries;

    public void CheckDeclared(int entries, long bytes)
    {
        if (entries > limits.MaxEntries)
        {
            throw new ModelArchiveException($"The model archive '{archivePath}' holds {entries} entries; the limit is {limits.MaxEntries}.");
        }
        if (bytes > limits.MaxUnpackedBytes)
        {
            throw TooLarge($"declares {bytes} bytes unpacked");
        }
        if (bytes > _maxByRatio)
        {
            throw TooCompressed($"declares {bytes} bytes unpacked");
        }
    }

    public void Directory(string name)
    {
        System.IO.Directory.CreateDirectory(Resolve(name));
    }

    public void File(string name, Stream data)
    {
        var path = Resolve(name);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        int read;
        while ((read = data.Read(_buffer)) > 0)
        {
            _bytes += read;
            if (_bytes > limits.MaxUnpackedBytes)
            {
                throw TooLarge("unpacks to more bytes than that");
            }
            if (_bytes > _maxByRatio)
            {
                throw TooCompressed($"unpacks to more than {_bytes} bytes");
            }
            output.Write(_buffer, 0, read);
            progress?.Report(_bytes);
        }
    }

    public ModelArchiveException Refuse(string name, string reason) =>
        new($"The model archive '{archivePath}' is refused: the entry '{name}' {reason}.");

    private string Resolve(string name)
    {
        if (++_entries > limits.MaxEntries)
        {
            throw new ModelArchiveException($"The model archive '{archivePath}' holds more than {limits.MaxEntries} entries.");
        }
        if (name.Length == 0 || name.Contains('\0') || name.Contains('\\') || Path.IsPathRooted(name) || name.StartsWith('/'))
        {
            throw Refuse(name, "is not a relative path");
        }
        foreach (var segment in name.Split('/'))
        {
            if (segment == "..")
            {
                throw Refuse(name, "would be written outside the model directory");
            }
        }
        var path = Path.GetFullPath(Path.Combine(_root, name));
        if (!path.StartsWith(_root, StringComparison.Ordinal) && path + Path.DirectorySeparatorChar != _root)
        {
            throw Refuse(name, "would be written outside the model directory");
        }
        return path;
    }

    private ModelArchiveException TooCompressed(string what) =>
        new($"The model archive '{archivePath}' ({new FileInfo(archivePath).Length} bytes) {what}: more than {limits.MaxCompressionRatio} times its size, the limit past {ExtractionLimits.RatioExemptBytes} bytes (max_archive_compression_ratio).");

    private ModelArchiveException TooLarge(string what) =>
        new($"The model archive '{archivePath}' {what}; the limit is {limits.MaxUnpackedBytes} bytes (max_archive_unpacked_size).");
}
