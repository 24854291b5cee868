using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using SkiaSharp;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>image_segmenter against TorchServe's Python postprocess on torchvision's LR-ASPP, ONNX and TorchScript.</summary>
public class SegmenterTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("segmenter.onnx")]
    [InlineData("segmenter.pt")]
    public async Task Class_map_and_probabilities_are_torchserves(string modelFile)
    {
        var directory = Fixtures.ModelDirectory("segmenter", modelFile, "image_segmenter");
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            var results = await handler.HandleAsync([new InferenceRequest(Fixtures.Image("china.jpg"))], context, CancellationToken.None);
            context.Model?.Dispose();
            Assert.True(results[0].IsSuccess, System.Text.Encoding.UTF8.GetString(results[0].Body.Span));
            Assert.StartsWith("[[[", System.Text.Encoding.UTF8.GetString(results[0].Body.Span[..40]));
            Assert.Contains(".0,", System.Text.Encoding.UTF8.GetString(results[0].Body.Span[..40])); // class as a float, as Python writes it

            using var expectedClasses = SKBitmap.Decode(Path.Combine(Fixtures.Root, "segmenter", "china.classes.png"));
            // The probabilities of every 4th pixel of every 4th row (56 x 56): the fixture's size, not the test's reach.
            var expectedProbabilities = new float[56 * 56];
            File.ReadAllBytes(Path.Combine(Fixtures.Root, "segmenter", "china.probabilities.f32")).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expectedProbabilities.AsSpan()));

            using var answer = JsonDocument.Parse(results[0].Body);
            var rows = answer.RootElement.EnumerateArray().ToArray();
            Assert.Equal(224, rows.Length);
            var (sameClass, maxDifference, compared) = (0, 0.0, 0);
            for (var y = 0; y < 224; y++)
            {
                var pixels = rows[y].EnumerateArray().ToArray();
                Assert.Equal(224, pixels.Length);
                for (var x = 0; x < 224; x++)
                {
                    var cls = pixels[x][0].GetDouble();
                    var probability = pixels[x][1].GetDouble();
                    sameClass += cls == expectedClasses.GetPixel(x, y).Red ? 1 : 0;
                    if (y % 4 == 0 && x % 4 == 0)
                    {
                        maxDifference = Math.Max(maxDifference, Math.Abs(probability - expectedProbabilities[y / 4 * 56 + x / 4]));
                        compared++;
                    }
                }
            }
            output.WriteLine($"{modelFile}: {sameClass} of {224 * 224} pixels in PyTorch's class, max probability difference {maxDifference:G3} over {compared} pixels");
            Assert.Equal(224 * 224, sameClass);
            Assert.Equal(56 * 56, compared);
            Assert.InRange(maxDifference, 0, 1e-5);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
