using System;
using System.Formats.Tar;
using System.IO;
using System.Linq;
using Serve.Archives;
using Serve.Tests;

namespace Serve.Archives.Tests;

public sealed class ModelArchiveReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", name);

    [Theory]
    [InlineData("digits.mar")]
    [InlineData("digits.tar.gz")]
    public void An_archive_made_by_torch_model_archiver_opens(string file)
    {
        var archive = ModelArchiveReader.Open(Fixture(file), _temp.Path);

        Assert.Equal("digits", archive.Manifest.ModelName);
        Assert.Equal("1.0", archive.Manifest.ModelVersion);
        Assert.Equal("digits.onnx", archive.Manifest.SerializedFile);
        Assert.Equal("digits.py", archive.Manifest.Handler);
        Assert.Equal("model-config.yaml", archive.Manifest.ConfigFile);
        Assert.Equal("0.12.0", archive.Manifest.ArchiverVersion);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", "digits.onnx")),
            File.ReadAllBytes(Path.Combine(archive.Directory, "digits.onnx")));
        Assert.Equal(["digits"], Directory.EnumerateFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void The_unpacked_form_is_read_in_place()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model");

        var archive = ModelArchiveReader.Open(directory, _temp.Path);

        Assert.Equal(Path.GetFullPath(directory), archive.Directory);
        Assert.Equal("digits", archive.Manifest.Handler);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("a/../../evil.txt")]
    [InlineData("/tmp/evil.txt")]
    [InlineData("a\\..\\..\\evil.txt")]
    public void A_zip_entry_that_leaves_the_target_is_refused(string name)
    {
        var path = _temp["slip.mar"];
        ArchiveBuilder.Zip(path, ("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), (name, "owned", 0));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains($"'{name}'", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void A_tar_entry_that_leaves_the_target_is_refused()
    {
        var path = _temp["slip.tar.gz"];
        ArchiveBuilder.TarGz(path, ArchiveBuilder.TarFile("m/MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest), ArchiveBuilder.TarFile("../../evil.txt", "owned"));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("outside the model directory", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void A_symbolic_link_in_a_zip_is_refused()
    {
        var path = _temp["link.mar"];
        const int SymbolicLinkMode = 0xA1FF; // S_IFLNK | 0777, as zip -y stores one
        ArchiveBuilder.Zip(path, ("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), ("weights.onnx", "/etc/passwd", SymbolicLinkMode));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("'weights.onnx' is a symbolic link", e.Message);
        AssertNothingUnpacked();
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink, "symbolic link")]
    [InlineData(TarEntryType.HardLink, "hard link")]
    [InlineData(TarEntryType.CharacterDevice, "CharacterDevice")]
    [InlineData(TarEntryType.Fifo, "Fifo")]
    public void A_link_or_device_in_a_tar_is_refused(TarEntryType type, string named)
    {
        var path = _temp["link.tar.gz"];
        ArchiveBuilder.TarGz(path, ArchiveBuilder.TarFile("m/MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest), Entry(type));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains(named, e.Message);
        AssertNothingUnpacked();
    }

    private static PaxTarEntry Entry(TarEntryType type)
    {
        var entry = new PaxTarEntry(type, "m/weights.onnx");
        if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
        {
            entry.LinkName = "/etc/passwd";
        }
        return entry;
    }

    [Fact]
    public void A_zip_that_declares_more_than_the_bound_is_refused_before_writing()
    {
        var path = _temp["big.mar"];
        ArchiveBuilder.Zip(path, ("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), ("weights.onnx", new string('0', 100_000), 0));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"], new ExtractionLimits { MaxUnpackedBytes = 50_000 }));

        Assert.Contains("declares 1000", e.Message);
        Assert.Contains("the limit is 50000 bytes", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void A_tar_that_unpacks_to_more_than_the_bound_is_stopped_as_it_is_written()
    {
        var path = _temp["big.tar.gz"];
        ArchiveBuilder.TarGz(path, ArchiveBuilder.TarFile("m/MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest), ArchiveBuilder.TarFile("m/weights.onnx", new string('0', 100_000)));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"], new ExtractionLimits { MaxUnpackedBytes = 50_000 }));

        Assert.Contains("unpacks to more bytes", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void An_archive_with_more_entries_than_the_bound_is_refused()
    {
        var path = _temp["many.mar"];
        ArchiveBuilder.Zip(path, [("MAR-INF/MANIFEST.json", ArchiveBuilder.Manifest, 0), .. Enumerable.Range(0, 20).Select(i => ($"f{i}", "x", 0))]);

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"], new ExtractionLimits { MaxEntries = 10 }));

        Assert.Contains("21 entries; the limit is 10", e.Message);
    }

    [Fact]
    public void Bytes_that_are_not_an_archive_are_called_broken()
    {
        var path = _temp["noise.mar"];
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919))]);

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("is broken", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void A_truncated_archive_is_called_broken()
    {
        var path = _temp["cut.mar"];
        var bytes = File.ReadAllBytes(Fixture("digits.mar"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("is broken", e.Message);
    }

    [Fact]
    public void A_truncated_tgz_is_called_broken()
    {
        var path = _temp["cut.tar.gz"];
        var bytes = File.ReadAllBytes(Fixture("digits.tar.gz"));
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("is broken", e.Message);
        AssertNothingUnpacked();
    }

    [Fact]
    public void An_archive_without_a_manifest_says_how_to_make_one()
    {
        var path = _temp["bare.mar"];
        ArchiveBuilder.Zip(path, ("model.onnx", "x", 0));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("has no MAR-INF/MANIFEST.json", e.Message);
        Assert.Contains("serve archive", e.Message);
    }

    [Fact]
    public void A_manifest_that_is_not_json_is_named()
    {
        var path = _temp["badjson.mar"];
        ArchiveBuilder.Zip(path, ("MAR-INF/MANIFEST.json", "{not json", 0));

        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(path, _temp["store"]));

        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void A_missing_archive_is_named()
    {
        var e = Assert.Throws<ModelArchiveException>(() => ModelArchiveReader.Open(_temp["nope.mar"], _temp["store"]));

        Assert.Contains("No model archive at", e.Message);
    }

    [Fact]
    public void Opening_again_replaces_the_earlier_unpacking()
    {
        ModelArchiveReader.Open(Fixture("digits.mar"), _temp.Path);
        File.WriteAllText(_temp["digits/stale.txt"], "left from before");

        var archive = ModelArchiveReader.Open(Fixture("digits.mar"), _temp.Path);

        Assert.False(File.Exists(Path.Combine(archive.Directory, "stale.txt")));
    }

    [Fact]
    public void Progress_reports_the_bytes_unpacked()
    {
        long last = 0;
        var progress = new SynchronousProgress(bytes => last = bytes);

        ModelArchiveReader.Open(Fixture("digits.mar"), _temp.Path, progress: progress);

        Assert.Equal(Directory.EnumerateFiles(_temp["digits"], "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length), last);
    }

    private void AssertNothingUnpacked()
    {
        var store = _temp["store"];
        Assert.True(!Directory.Exists(store) || !Directory.EnumerateFileSystemEntries(store).Any(), "a refused archive left files behind");
        Assert.False(File.Exists(_temp["evil.txt"]));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "evil.txt")));
    }

    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
