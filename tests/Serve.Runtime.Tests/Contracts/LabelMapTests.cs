using System.IO;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Contracts;

/// <summary>index_to_name.json in both of TorchServe's forms, read into the context.</summary>
public sealed class LabelMapTests : System.IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-labels-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Both_forms_are_read_and_a_list_keeps_its_last_element()
    {
        File.WriteAllText(Path.Combine(_directory, "index_to_name.json"), """{"0": "cat", "1": ["n01440764", "tench"]}""");

        var labels = LabelMap.Load(_directory)!;

        Assert.Equal(("cat", "tench", 2), (labels[0], labels[1], labels.Count));
        Assert.Equal("7", labels[7]); // TorchServe's fallback: the index itself
        Assert.False(labels.TryGetName(7, out _));
    }

    [Fact]
    public void The_context_reads_the_labels_of_its_model_directory()
    {
        File.WriteAllText(Path.Combine(_directory, "index_to_name.json"), """{"2": "bird"}""");

        var context = new HandlerContext(new ModelManifest { ModelName = "m" }, _directory);

        Assert.Equal("bird", context.Labels![2]);
    }

    [Fact]
    public void A_directory_without_the_file_has_no_labels()
    {
        Assert.Null(new HandlerContext(new ModelManifest { ModelName = "m" }, _directory).Labels);
    }

    [Theory]
    [InlineData("""{"cat": "0"}""", "has the key \"cat\"; keys must be class indices")]
    [InlineData("""{"0": 5}""", "maps \"0\" to Number; a name must be a string or a list whose last element is a string.")]
    [InlineData("""{"0": []}""", "maps \"0\" to Array")]
    [InlineData("""["cat"]""", "must be a JSON object of class index to name")]
    [InlineData("""{"0": "cat" """, "is not valid JSON")]
    public void A_bad_file_is_refused_naming_the_file_and_key(string json, string message)
    {
        var path = Path.Combine(_directory, "index_to_name.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<ModelLoadException>(() => LabelMap.Load(_directory));

        Assert.Contains(path, error.Message);
        Assert.Contains(message, error.Message);
    }
}
