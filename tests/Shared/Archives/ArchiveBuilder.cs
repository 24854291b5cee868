using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Text;

namespace Serve.Tests;

/// <summary>Hand-made archives, including the malicious kinds a writer of ours would never produce.</summary>
public static class ArchiveBuilder
{
    public const string Manifest = """{"runtime": "python", "model": {"modelName": "m", "handler": "h"}}""";

    public static void Zip(string path, params (string Name, string Content, int UnixMode)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, content, mode) in entries)
        {
            var entry = zip.CreateEntry(name);
            if (mode != 0)
            {
                entry.ExternalAttributes = mode << 16;
            }
            using var stream = entry.Open();
            stream.Write(Encoding.UTF8.GetBytes(content));
        }
    }

    public static void TarGz(string path, params TarEntry[] entries)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var entry in entries)
        {
            tar.WriteEntry(entry);
        }
    }

    public static PaxTarEntry TarFile(string name, string content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };
}
