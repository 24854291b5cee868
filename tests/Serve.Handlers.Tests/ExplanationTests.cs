using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>Occlusion explanations of the image classifier, checked by re-running the model on occluded inputs.</summary>
public class ExplanationTests
{
    [Theory]
    [InlineData("classifier.onnx")]
    [InlineData("classifier.pt")]
    public async Task Each_attribution_is_the_probability_lost_when_its_patch_is_occluded(string modelFile)
    {
        var directory = Fixtures.ClassifierDirectory(modelFile, "handler:\n  occlusion_patch: 32\n");
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            var request = new InferenceRequest(Fixtures.Image("flower.jpg"));
            var results = await ((IExplainingHandler)handler).ExplainAsync([request], context, CancellationToken.None);
            Assert.True(results[0].IsSuccess, System.Text.Encoding.UTF8.GetString(results[0].Body.Span));
            using var explanation = JsonDocument.Parse(results[0].Body);
            var root = explanation.RootElement;
            Assert.Equal(Fixtures.Expected("flower.jpg")[0].Label, root.GetProperty("target").GetString());
            var map = root.GetProperty("attributions").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            Assert.Equal(7, map.Length); // 224 / 32
            Assert.All(map, row => Assert.Equal(7, row.Length));
            Assert.Contains(map.SelectMany(r => r), v => Math.Abs(v) > 1e-4); // the image matters somewhere

            // Recompute two patches independently: occlude, run, compare.
            var input = new ImageClassifier().Preprocess(request);
            var model = context.GetModel<Tensor<float>, Tensor<float>>();
            var targetIndex = int.Parse(root.GetProperty("target").GetString()!["class ".Length..]);
            var p0 = Classification.Softmax((await model.RunAsync(new Tensor<float>(input.Memory.ToArray(), 1, 3, 224, 224), default)).Row(0))[targetIndex];
            foreach (var (row, column) in new[] { (0, 0), (3, 5) })
            {
                var occluded = input.Memory.ToArray();
                for (var c = 0; c < 3; c++)
                {
                    for (var y = row * 32; y < row * 32 + 32; y++)
                    {
                        Array.Clear(occluded, (c * 224 + y) * 224 + column * 32, 32);
                    }
                }
                var p = Classification.Softmax((await model.RunAsync(new Tensor<float>(occluded, 1, 3, 224, 224), default)).Row(0))[targetIndex];
                Assert.InRange(Math.Abs(map[row][column] - (p0 - p)), 0, 1e-5);
            }
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
