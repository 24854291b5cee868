using System;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Serve.Archives;
using Serve.Tests;

namespace Serve.Archives.Tests;

/// <summary>
/// An archive that unpacks to far more than its own size (a 1 MB .mar holding a 1 GB pad) is
/// refused by its compression ratio once past 64 MiB, and leaves nothing on disk; FIFOs and
/// device files are never opened (issue 23 items 3 and 9).
/// </summary>
public sealed class ArchiveBombTests : IDisposable
{
    private const int PadBytes = 100 << 20; // compresses to ~100 KB: a ratio near 1,000
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_zip_whose_declared_sizes_are_a_bomb_is_refused_before_anything_is_written()
    {
        var path = _temp["bomb.mar"];
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            Write(zip.CreateEntry("MAR-INF/MANIFEST.json"), ArchiveBuilder.Manifest);
            using var pad = zip.CreateEntry("pad.bin", CompressionLevel.SmallestSize).Open();
            WriteZeros(pad);
        }

        var error = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["work"]));

        Assert.Contains("max_archive_compression_ratio", error.Message);
        Assert.Contains($"{ExtractionLimits.DefaultMaxCompressionRatio} times its size", error.Message);
        Assert.Empty(Directory.Exists(_temp["work"]) ? Directory.EnumerateFileSystemEntries(_temp["work"]) : []);
    }

    [Fact]
    public void A_tar_gz_bomb_is_stopped_as_it_unpacks_and_its_scratch_is_removed()
    {
        var path = _temp["bomb.tar.gz"];
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(ArchiveBuilder.TarFile("m/MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest));
            var zeros = new MemoryStream(new byte[PadBytes]);
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "m/pad.bin") { DataStream = zeros });
        }

        var error = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["work"]));

        Assert.Contains("max_archive_compression_ratio", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp["work"]));
    }

    [Fact]
    public void A_compressible_archive_below_the_exempt_size_opens()
    {
        var path = _temp["small.mar"];
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            Write(zip.CreateEntry("MAR-INF/MANIFEST.json"), ArchiveBuilder.Manifest);
            Write(zip.CreateEntry("vocab.txt"), new string('a', 4 << 20));
        }

        Assert.Equal("m", ModelArchiveReader.Open(path, _temp["work"]).Manifest.ModelName);
    }

    [Fact]
    public void A_fifo_named_as_an_archive_is_refused_without_being_opened()
    {
        var fifo = _temp["waiting.mar"];
        using (var mkfifo = Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
        }

        // Opening a FIFO blocks until a writer comes: a refusal that returns at all proves it was never opened.
        var error = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(fifo, _temp["work"]));

        Assert.Contains("not a regular file", error.Message);
    }

    [Fact]
    public void A_device_file_is_refused()
    {
        var error = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open("/dev/zero", _temp["work"]));

        Assert.Contains("not a regular file", error.Message);
    }

    private static void Write(ZipArchiveEntry entry, string text)
    {
        using var stream = entry.Open();
        stream.Write(Encoding.UTF8.GetBytes(text));
    }

    private static void WriteZeros(Stream stream)
    {
        var block = new byte[1 << 20];
        for (var i = 0; i < PadBytes / block.Length; i++)
        {
            stream.Write(block);
        }
    }
}
