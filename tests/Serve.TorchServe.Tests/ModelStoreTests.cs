using System;
using System.IO;
using System.Linq;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

public sealed class ModelStoreTests : IDisposable
{
    private readonly TempDirectory _store = new();

    public ModelStoreTests()
    {
        File.WriteAllText(_store["a.mar"], "");
        File.WriteAllText(_store["b.tar.gz"], "");
        File.WriteAllText(_store["notes.txt"], "");
        Directory.CreateDirectory(_store["c/MAR-INF"]);
        File.WriteAllText(_store["c/MAR-INF/MANIFEST.json"], "{}");
        Directory.CreateDirectory(_store["not-a-model"]);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void All_selects_every_archive_and_unpacked_model()
    {
        var selected = ModelStore.Select(_store.Path, "all");

        Assert.Equal(["a.mar", "b.tar.gz", "c"], selected.Select(m => Path.GetFileName(m.Path)));
        Assert.All(selected, m => Assert.Null(m.Name));
    }

    [Fact]
    public void A_list_names_archives_and_optionally_their_model_names()
    {
        var selected = ModelStore.Select(_store.Path, "a.mar, renamed=b.tar.gz");

        Assert.Equal([new ModelToLoad(null, _store["a.mar"]), new ModelToLoad("renamed", _store["b.tar.gz"])], selected);
    }

    [Theory]
    [InlineData("standalone")]
    [InlineData("")]
    [InlineData(null)]
    public void Standalone_or_nothing_loads_nothing(string? loadModels)
    {
        Assert.Empty(ModelStore.Select(null, loadModels));
    }

    [Fact]
    public void A_missing_archive_is_named_with_what_the_store_holds()
    {
        var e = Assert.Throws<ConfigPropertiesException>(() => ModelStore.Select(_store.Path, "x.mar"));

        Assert.Contains("'x.mar' is not in the model store", e.Message);
        Assert.Contains("it holds: a.mar, b.tar.gz, c", e.Message);
    }

    [Theory]
    [InlineData("../outside.mar")]
    [InlineData("/etc/passwd")]
    public void A_name_outside_the_store_is_refused(string item)
    {
        var e = Assert.Throws<ConfigPropertiesException>(() => ModelStore.Select(_store.Path, item));

        Assert.StartsWith("load_models:", e.Message);
    }

    [Fact]
    public void Models_without_a_store_say_how_to_give_one()
    {
        var e = Assert.Throws<ConfigPropertiesException>(() => ModelStore.Select(null, "all"));

        Assert.Contains("--model-store DIR", e.Message);
    }
}
