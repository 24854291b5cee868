using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Serve.Archives;
using Serve.Cli;
using Serve.Tests;

namespace Serve.Cli.Tests;

public sealed class ArchiveCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "digits-model", name);

    private static async Task<(int Code, string Output, string Error)> Serve(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ServeCommandLine.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static string WithoutTimeAndVersion(string manifest) =>
        Regex.Replace(manifest, "\"(createdOn|archiverVersion)\": \"[^\"]*\"", "\"$1\": \"\"");

    [Fact]
    public async Task The_manifest_is_torch_model_archivers_byte_for_byte_but_for_time_and_archiver_version()
    {
        // tests/fixtures/torchserve/digits.mar came from torch-model-archiver with these flags.
        var (code, output, error) = await Serve("archive", "--model-name", "digits", "--version", "1.0",
            "--serialized-file", Model("digits.onnx"), "--handler", "digits.py", "--config-file", Model("model-config.yaml"),
            "--export-path", _temp.Path);

        Assert.Equal(0, code);
        Assert.Empty(error);
        Assert.Contains("digits.mar", output);
        using var ours = ZipFile.OpenRead(_temp["digits.mar"]);
        using var theirs = ZipFile.OpenRead(Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve", "digits.mar"));
        Assert.Equal(
            WithoutTimeAndVersion(Read(theirs, "MAR-INF/MANIFEST.json")),
            WithoutTimeAndVersion(Read(ours, "MAR-INF/MANIFEST.json")));
        // The same files, except the handler file: ours names a compiled handler and copies no code.
        Assert.Equal(
            theirs.Entries.Select(e => e.FullName).Where(n => n != "digits.py").Order(),
            ours.Entries.Select(e => e.FullName).Order());
        Assert.Matches(@"""createdOn"": ""\d\d/\d\d/\d{4} \d\d:\d\d:\d\d""", Read(ours, "MAR-INF/MANIFEST.json"));
    }

    [Theory]
    [InlineData("default", "digits.mar")]
    [InlineData("tgz", "digits.tar.gz")]
    [InlineData("no-archive", "digits")]
    public async Task Every_format_reads_back(string format, string written)
    {
        File.WriteAllText(_temp["index_to_name.json"], """{"0": "zero"}""");
        var (code, _, error) = await Serve("archive", "-n", "digits", "-v", "2.0", "--serialized-file", Model("digits.onnx"), "--handler", "digits",
            "--extra-files", _temp["index_to_name.json"], "--requirements-file", Model("model-config.yaml"), "--export-path", _temp["out"], "--archive-format", format);
        Assert.True(code == 0, error);

        var archive = ModelArchiveReader.Open(_temp[$"out/{written}"], _temp["unpacked"]);

        Assert.Equal(("digits", "2.0", "digits", "digits.onnx"), (archive.Manifest.ModelName, archive.Manifest.ModelVersion, archive.Manifest.Handler, archive.Manifest.SerializedFile));
        Assert.Equal("""{"0": "zero"}""", File.ReadAllText(Path.Combine(archive.Directory, "index_to_name.json")));
        Assert.Equal(File.ReadAllBytes(Model("digits.onnx")), File.ReadAllBytes(Path.Combine(archive.Directory, "digits.onnx")));
        Assert.Contains("\"requirementsFile\": \"model-config.yaml\"", File.ReadAllText(Path.Combine(archive.Directory, "MAR-INF/MANIFEST.json")));
    }

    [Fact]
    public async Task An_existing_archive_is_kept_unless_forced()
    {
        string[] args = ["archive", "--model-name", "digits", "--serialized-file", Model("digits.onnx"), "--handler", "digits", "--export-path", _temp.Path];
        Assert.Equal(0, (await Serve(args)).Code);
        File.WriteAllText(_temp["digits.mar"], "precious");

        var (code, _, error) = await Serve(args);
        Assert.Equal(1, code);
        Assert.Contains("already exists; pass --force", error);
        Assert.Equal("precious", File.ReadAllText(_temp["digits.mar"]));

        Assert.Equal(0, (await Serve([.. args, "--force"])).Code);
        Assert.NotEqual("precious", File.ReadAllText(_temp["digits.mar"]));
    }

    [Theory]
    [InlineData(new[] { "--handler", "h" }, "Option '--model-name' is required")]
    [InlineData(new[] { "--model-name", "m" }, "Option '--handler' is required")]
    [InlineData(new[] { "--model-name", "../m", "--handler", "h" }, "The model name '../m' has characters")]
    [InlineData(new[] { "--model-name", "m", "--handler", "h", "--serialized-file", "missing.onnx" }, "--serialized-file 'missing.onnx' does not exist")]
    [InlineData(new[] { "--model-name", "m", "--handler", "h", "--extra-files", "a.json,missing.json" }, "--extra-files 'a.json' does not exist")]
    [InlineData(new[] { "--model-name", "m", "--handler", "h", "--archive-format", "zip" }, "Argument 'zip' not recognized. Must be one of")]
    public async Task A_mistake_is_told_in_words_and_fails(string[] flags, string expected)
    {
        var (code, _, error) = await Serve(["archive", "--export-path", _temp.Path, .. flags]);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Path));
    }

    [Fact]
    public async Task Help_lists_torch_model_archivers_flags()
    {
        var (code, output, _) = await Serve("archive", "--help");

        Assert.Equal(0, code);
        foreach (var flag in new[] { "--model-name", "--version", "--serialized-file", "--handler", "--extra-files", "--config-file", "--requirements-file", "--export-path", "--archive-format", "--force" })
        {
            Assert.Contains(flag, output);
        }
    }

    private static string Read(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
