using System;
using System.IO;
using System.Linq;
using System.Text;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Hardening;

/// <summary>
/// model-config.yaml is read from untrusted archives: its nesting, its aliases and its size are
/// bounded, and each refusal names the limit (issue 23 items 1-2). Before, 100,000 levels killed
/// the process with a stack overflow and a kilobyte of aliases expanded past 4 GB.
/// </summary>
public sealed class ModelConfigBoundsTests
{
    private static ModelLoadException Refused(string yaml) =>
        Assert.Throws<ModelLoadException>(() => ModelConfig.Parse(new StringReader(yaml), "model-config.yaml"));

    [Theory]
    [InlineData(100_000)]
    [InlineData(ModelConfig.MaxDepth + 1)]
    public void Flow_lists_nested_past_the_bound_are_refused_naming_it(int depth)
    {
        var error = Refused("handler: " + new string('[', depth) + new string(']', depth));

        Assert.Contains($"nests deeper than {ModelConfig.MaxDepth} levels", error.Message);
        Assert.Contains("model-config nesting depth", error.Message);
    }

    [Fact]
    public void Block_mappings_nested_1000_deep_are_refused_as_too_deep()
    {
        // 20,000 levels (the case) take 200 MB of indentation: the size bound refuses those first.
        var yaml = new StringBuilder("handler:\n");
        for (var i = 1; i <= 1_000; i++)
        {
            yaml.Append(' ', i).Append('k').Append(i).Append(":\n");
        }

        Assert.Contains("nests deeper than", Refused(yaml.ToString()).Message);
    }

    [Fact]
    public void Nesting_within_the_bound_is_read()
    {
        var lists = ModelConfig.MaxDepth - 2; // the top-level mapping and handler's are two levels
        var config = ModelConfig.Parse(new StringReader("handler: {k: " + new string('[', lists) + "7" + new string(']', lists) + "}"), "m.yaml");

        Assert.Equal("7", config.Handler.Values.Single());
    }

    [Theory]
    [InlineData("handler")]
    [InlineData("onnx")]
    [InlineData("pt2")]
    public void A_billion_laughs_under_any_section_is_refused_by_its_expanded_size(string section)
    {
        // Nine levels of six aliases each (48 aliases, under the alias bound): 300 bytes that stand for 10^7 values.
        var yaml = new StringBuilder(section).Append(":\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 9; i++)
        {
            yaml.Append($"  l{i}: &l{i} [").Append(string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 6))).Append("]\n");
        }

        var error = Refused(yaml.ToString());

        Assert.Contains($"more than {ModelConfig.MaxValues} values once its aliases are expanded", error.Message);
    }

    [Fact]
    public void More_aliases_than_the_bound_are_refused_naming_it()
    {
        var yaml = "handler:\n  a: &a 1\n" + string.Concat(Enumerable.Range(0, ModelConfig.MaxAliases + 1).Select(i => $"  k{i}: *a\n"));

        var error = Refused(yaml);

        Assert.Contains($"more than {ModelConfig.MaxAliases} aliases", error.Message);
        Assert.Contains("model-config aliases", error.Message);
    }

    [Fact]
    public void An_alias_inside_its_own_anchor_is_refused_not_walked_forever()
    {
        var error = Record.Exception(() => ModelConfig.Parse(new StringReader("handler: &a {k: [*a]}"), "m.yaml"));

        Assert.IsType<ModelLoadException>(error);
    }

    [Fact]
    public void A_few_aliases_are_read_as_copies()
    {
        var config = ModelConfig.Parse(new StringReader("handler:\n  mean: &m [0.5, 0.25]\n  std: *m\n"), "m.yaml");

        Assert.Equal("0.25", config.Handler["std:1"]);
    }

    [Fact]
    public void A_config_larger_than_the_bound_is_refused_before_it_is_parsed()
    {
        var directory = Directory.CreateTempSubdirectory("serve-config-size-").FullName;
        try
        {
            var path = Path.Combine(directory, "model-config.yaml");
            using (var writer = new StreamWriter(path))
            {
                writer.Write("handler:\n");
                for (var i = 0; writer.BaseStream.Length <= ModelConfig.MaxSize; i++)
                {
                    writer.Write($"  key{i}: {i}\n");
                    writer.Flush();
                }
            }

            var fromFile = Assert.Throws<ModelLoadException>(() => ModelConfig.Read(path));
            var fromText = Refused(File.ReadAllText(path));

            Assert.Contains($"the limit is {ModelConfig.MaxSize} characters (model-config size)", fromFile.Message);
            Assert.Contains("model-config size", fromText.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_keys_a_config_sets_are_known_without_parsing_it_again()
    {
        var config = ModelConfig.Parse(new StringReader("minWorkers: 2\nmaxWorkers: 2\n"), "m.yaml");

        Assert.Equal(["maxWorkers", "minWorkers"], config.ConfiguredKeys!.Order(StringComparer.Ordinal));
        Assert.Null(ModelConfig.Default.ConfiguredKeys);
    }
}
