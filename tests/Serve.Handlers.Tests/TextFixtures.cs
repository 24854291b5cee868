using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Onnx;
using Serve.Runtime;
using Serve.Torch;

namespace Serve.Handlers.Tests;

/// <summary>What fixtures/make_text.py wrote: the two text models, their vocabularies and Python's answers.</summary>
internal static class TextFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "text");

    /// <summary>One test text and what the Python references made of it.</summary>
    public sealed record Case(
        string Text, string[] BasicEnglish, long[] WordPiece, double[] BertProbabilities, long[]? TorchServeIds, double[]? TorchServeProbabilities);

    public static IReadOnlyList<Case> Cases { get; } = Read();

    public static TheoryData<int> CaseIndices => [.. Enumerable.Range(0, Cases.Count)];

    private static Case[] Read()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "expected.json")));
        return [.. document.RootElement.EnumerateArray().Select(e => new Case(
            e.GetProperty("text").GetString()!,
            [.. e.GetProperty("basic_english").EnumerateArray().Select(t => t.GetString()!)],
            [.. e.GetProperty("wordpiece").EnumerateArray().Select(t => t.GetInt64())],
            [.. e.GetProperty("bert_probabilities").EnumerateArray().Select(t => t.GetDouble())],
            e.GetProperty("torchserve_ids") is { ValueKind: JsonValueKind.Array } ids ? [.. ids.EnumerateArray().Select(t => t.GetInt64())] : null,
            e.GetProperty("torchserve_probabilities") is { ValueKind: JsonValueKind.Array } p ? [.. p.EnumerateArray().Select(t => t.GetDouble())] : null))];
    }

    /// <summary>A model directory: <paramref name="fixture"/>'s files (all, or those named) and a manifest naming text_classifier.</summary>
    public static string ModelDirectory(string fixture, string modelFile, string? modelConfig = null, params string[] only)
    {
        var directory = Directory.CreateTempSubdirectory($"serve-text-{fixture}-").FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Root, fixture)))
        {
            var name = Path.GetFileName(file);
            if (only.Length == 0 ? !name.StartsWith("model.", StringComparison.Ordinal) || name == modelFile : only.Contains(name) || name == modelFile)
            {
                File.Copy(file, Path.Combine(directory, name));
            }
        }
        Directory.CreateDirectory(Path.Combine(directory, "MAR-INF"));
        File.WriteAllText(Path.Combine(directory, ModelManifest.RelativePath), $$$"""
            {"model": {"modelName": "{{{fixture}}}", "serializedFile": "{{{modelFile}}}", "handler": "text_classifier"}}
            """);
        if (modelConfig is not null)
        {
            File.WriteAllText(Path.Combine(directory, "model-config.yaml"), modelConfig);
        }
        return directory;
    }

    /// <summary>The built-in loaded on a model directory, as a worker has it.</summary>
    public static async Task<(TextClassifier Handler, HandlerContext Context)> Load(string directory)
    {
        var configPath = Path.Combine(directory, "model-config.yaml");
        var context = new HandlerContext(ModelManifest.Read(directory), directory)
        {
            ModelConfig = File.Exists(configPath) ? ModelConfig.Read(configPath) : ModelConfig.Default,
            ModelLoaders = [new OnnxModelLoader(), new TorchModelLoader()],
        };
        var handler = new TextClassifier();
        await ((IHandler)handler).InitializeAsync(context, CancellationToken.None);
        return (handler, context);
    }

    /// <summary>A JSON answer as (label, probability) in its order.</summary>
    public static List<(string Label, double Probability)> Answer(ReadOnlySpan<byte> json)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        return [.. document.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetDouble()))];
    }

    /// <summary>index_to_name.json's names in class order.</summary>
    public static string[] Labels(string fixture)
    {
        var labels = LabelMap.Read(Path.Combine(Root, fixture, LabelMap.FileName));
        return [.. Enumerable.Range(0, labels.Count).Select(i => labels[i])];
    }
}
