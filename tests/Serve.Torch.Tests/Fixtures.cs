using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>The backend fixtures made by fixtures/make_backends.py, and PyTorch's reference outputs.</summary>
public static class Fixtures
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures", "backends");

    // Every model directory a test makes, removed when the test process ends.
    private static readonly string TemporaryRoot = CreateTemporaryRoot();

    private static string CreateTemporaryRoot()
    {
        var root = System.IO.Directory.CreateTempSubdirectory("serve-torch-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(root, recursive: true);
        return root;
    }

    /// <summary>An empty directory, removed with the others when the test process ends.</summary>
    public static string NewDirectory() => System.IO.Directory.CreateDirectory(Path.Combine(TemporaryRoot, Guid.NewGuid().ToString("N"))).FullName;

    public static string File(string name) => Path.Combine(Directory, name);

    public static Reference Tiny { get; } = Reference.Read(File("tiny.reference.json"));

    /// <summary>A context for a model directory holding a copy of <paramref name="fixture"/> as <paramref name="fileName"/>.</summary>
    public static HandlerContext Context(string fixture, string? fileName = null, string config = "", string modelName = "tiny")
    {
        var directory = NewDirectory();
        fileName ??= fixture;
        System.IO.File.Copy(File(fixture), Path.Combine(directory, fileName));
        return new HandlerContext(new ModelManifest { ModelName = modelName, SerializedFile = fileName }, directory)
        {
            ModelConfig = ModelConfig.Parse(new StringReader(config), "model-config.yaml"),
            ModelLoaders = [new TorchModelLoader(new TorchOptions().AddModule("tiny", () => new TinyNet()))],
        };
    }

    public static float MaxAbsDifference(ReadOnlySpan<float> actual, float[] expected)
    {
        if (actual.Length != expected.Length)
        {
            throw new InvalidOperationException($"{actual.Length} outputs, expected {expected.Length}");
        }
        var max = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        }
        return max;
    }
}

public sealed record Reference(long[] InputShape, float[] Input, long[] OutputShape, float[] Output)
{
    public Tensor<float> InputTensor() => new(Input.ToArray(), InputShape);

    public static Reference Read(string path)
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        var root = json.RootElement;
        return new Reference(
            root.GetProperty("inputShape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            root.GetProperty("input").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray(),
            root.GetProperty("outputShape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            root.GetProperty("output").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray());
    }
}
