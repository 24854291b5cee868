using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Serve.Runtime;
using SkiaSharp;

namespace Serve.Handlers.Tests;

/// <summary>The files fixtures/make_vision.py wrote.</summary>
internal static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures", "vision");

    public static IEnumerable<string> ImageNames => Directory.GetFiles(Path.Combine(Root, "images")).Select(Path.GetFileName).Order()!;

    public static TheoryData<string> Images => [.. ImageNames];

    public static byte[] Image(string name) => File.ReadAllBytes(Path.Combine(Root, "images", name));

    /// <summary>torchvision's input tensor for an image: Normalize(ToTensor(reference crop, lossless WebP)), in PyTorch's float arithmetic.</summary>
    public static float[] TorchvisionTensor(string imageName)
    {
        using var bitmap = SKBitmap.Decode(Path.Combine(Root, "reference", imageName + ".webp"));
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        var plane = bitmap.Width * bitmap.Height;
        var values = new float[3 * plane];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var color = bitmap.GetPixel(x, y);
                byte[] rgb = [color.Red, color.Green, color.Blue];
                for (var c = 0; c < 3; c++)
                {
                    values[c * plane + y * bitmap.Width + x] = (rgb[c] / 255f - mean[c]) / std[c];
                }
            }
        }
        return values;
    }

    /// <summary>TorchServe's ImageClassifier postprocess on each image as Serve preprocesses it (EXIF applied, RGB), in order.</summary>
    public static IReadOnlyList<(string Label, double Probability)> Expected(string imageName)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "expected.json")));
        return [.. document.RootElement.GetProperty(imageName).EnumerateObject().Select(p => (p.Name, p.Value.GetDouble()))];
    }

    /// <summary>A model directory holding the classifier in one format, its labels and a manifest naming the built-in.</summary>
    public static string ClassifierDirectory(string modelFile, string? modelConfig = null) =>
        ModelDirectory("classifier", modelFile, "image_classifier", modelConfig);

    public static string ModelDirectory(string fixture, string modelFile, string handler, string? modelConfig = null)
    {
        var directory = Directory.CreateTempSubdirectory($"serve-{fixture}-").FullName;
        File.Copy(Path.Combine(Root, fixture, modelFile), Path.Combine(directory, modelFile));
        if (File.Exists(Path.Combine(Root, fixture, "index_to_name.json")))
        {
            File.Copy(Path.Combine(Root, fixture, "index_to_name.json"), Path.Combine(directory, "index_to_name.json"));
        }
        Directory.CreateDirectory(Path.Combine(directory, "MAR-INF"));
        File.WriteAllText(Path.Combine(directory, ModelManifest.RelativePath), $$$"""
            {"model": {"modelName": "{{{fixture}}}", "serializedFile": "{{{modelFile}}}", "handler": "{{{handler}}}"}}
            """);
        if (modelConfig is not null)
        {
            File.WriteAllText(Path.Combine(directory, "model-config.yaml"), modelConfig);
        }
        return directory;
    }

    public static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }
        return max;
    }
}
