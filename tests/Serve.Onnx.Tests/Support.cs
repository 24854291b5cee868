using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Onnx.Tests;

/// <summary>The backend fixtures (fixtures/make_backends.py) and a context over a copy of one.</summary>
public static class Fixtures
{
    public const float Tolerance = 1e-4f;

    // Every model directory a test makes, removed when the test process ends.
    private static readonly string TemporaryRoot = CreateTemporaryRoot();

    private static string CreateTemporaryRoot()
    {
        var root = System.IO.Directory.CreateTempSubdirectory("serve-onnx-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => System.IO.Directory.Delete(root, recursive: true);
        return root;
    }

    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "backends", name);

    public static (long[] InputShape, float[] Input, long[] OutputShape, float[] Output) Tiny { get; } = ReadReference();

    public static HandlerContext Context(string fixture, string config = "", string modelName = "tiny", ILogger? logger = null) =>
        ContextFor(File(fixture), config, modelName, logger);

    /// <summary>A context over a copy of the model file at <paramref name="path"/> (under the test output's fixtures/).</summary>
    public static HandlerContext ContextFor(string path, string config = "", string modelName = "tiny", ILogger? logger = null)
    {
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(TemporaryRoot, Guid.NewGuid().ToString("N"))).FullName;
        var fixture = Path.GetFileName(path);
        System.IO.File.Copy(path, Path.Combine(directory, fixture));
        return new HandlerContext(new ModelManifest { ModelName = modelName, SerializedFile = fixture }, directory)
        {
            ModelConfig = ModelConfig.Parse(new StringReader(config), "model-config.yaml"),
            ModelLoaders = [new OnnxModelLoader()],
            Logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        };
    }

    public static Tensor<float> TinyInput() => new(Tiny.Input.ToArray(), Tiny.InputShape);

    public static float MaxAbsDifference(ReadOnlySpan<float> actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        }
        return max;
    }

    private static (long[], float[], long[], float[]) ReadReference()
    {
        using var json = JsonDocument.Parse(System.IO.File.ReadAllBytes(File("tiny.reference.json")));
        var root = json.RootElement;
        long[] Longs(string name) => root.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray();
        float[] Floats(string name) => root.GetProperty(name).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        return (Longs("inputShape"), Floats("input"), Longs("outputShape"), Floats("output"));
    }
}

/// <summary>Keeps every log message, to check what a load said it did.</summary>
public sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries)
        {
            Entries.Add((logLevel, formatter(state, exception)));
        }
    }
}
