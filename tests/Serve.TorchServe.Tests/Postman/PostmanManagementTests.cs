using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;

namespace Serve.TorchServe.Tests.Postman;

/// <summary>TorchServe's Postman management suite, request by request, in its order, against one server.</summary>
public sealed class PostmanManagementTests
{
    private static readonly StandIn[] Store =
    [
        new("squeezenet1_1.mar", "squeezenet1_1", "digits", "digits-model/digits.onnx"),
        new("mnist.mar", "mnist", "digits", "digits-model/digits.onnx"),
        new("densenet161.mar", "densenet161", "digits", "digits-model/digits.onnx"),
        new("resnet-152-batch.mar", "resnet-152-batch", "digits", "digits-model/digits.onnx"),
        new("resnet-18.mar", "resnet-18", "digits", "digits-model/digits.onnx"),
    ];

    private static readonly StandIn[] Remote = [new("densenet161.mar", "densenet161", "digits", "digits-model/digits.onnx")];

    [Fact]
    public async Task Every_request_gets_TorchServes_status_or_a_documented_difference()
    {
        await using var server = await PostmanServer.StartAsync(Store, Remote);
        var differences = new List<string>();
        foreach (var item in ManagementSuite.Cases)
        {
            using var response = await server.Management(item.Method, item.Path);
            if ((int)response.StatusCode != item.Expected)
            {
                differences.Add($"{item}: expected {item.Expected} (TorchServe {item.TorchServe}), got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    [Fact]
    public void The_suite_is_TorchServes_82_requests_and_each_difference_names_a_row_of_the_docs()
    {
        Assert.Equal(Enumerable.Range(0, 82), ManagementSuite.Cases.Select(c => c.Index));
        PostmanDocs.AssertDocumented(ManagementSuite.Cases);
    }
}

public static class PostmanDocs
{
    /// <summary>docs/torchserve.md, found from the test's build output up to the repository root.</summary>
    public static string TorchServeDoc()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var doc = Path.Combine(directory.FullName, "docs", "torchserve.md");
            if (File.Exists(doc))
            {
                return File.ReadAllText(doc);
            }
        }
        throw new FileNotFoundException("docs/torchserve.md not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Each case that differs names (the start of) the first cell of a row in the table of deliberate differences.</summary>
    public static void AssertDocumented(IEnumerable<PostmanCase> cases)
    {
        foreach (var item in cases.Where(c => c.Ours is not null))
        {
            Assert.True(item.Why is not null && HasRow(item.Why), $"{item}: answers {item.Ours} where TorchServe answers {item.TorchServe}; docs/torchserve.md has no row '{item.Why}'.");
            Assert.NotEqual(item.TorchServe, item.Ours);
        }
    }

    public static void AssertRow(string why) => Assert.True(HasRow(why), $"docs/torchserve.md has no row '{why}'.");

    private static bool HasRow(string why) =>
        TorchServeDoc().Split('\n').Where(line => line.StartsWith("| ", StringComparison.Ordinal))
            .Any(line => line.Split('|')[1].Trim().StartsWith(why, StringComparison.Ordinal));
}
