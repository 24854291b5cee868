using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>One detection as TorchServe writes it: <c>{"label": [x1, y1, x2, y2], "score": s}</c>.</summary>
internal sealed record Detection(string Label, double[] Box, double Score)
{
    public static Detection[] ParseList(JsonElement list) => [.. list.EnumerateArray().Select(Parse)];

    private static Detection Parse(JsonElement detection)
    {
        var labelled = detection.EnumerateObject().Single(p => p.Name != "score");
        return new(labelled.Name, [.. labelled.Value.EnumerateArray().Select(c => c.GetDouble())], detection.GetProperty("score").GetDouble());
    }

    /// <summary>What TorchServe's ObjectDetector answered for each image (fixtures/make_detection.py).</summary>
    public static Detection[] Expected(string imageName)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Root, "detector", "expected.json")));
        return ParseList(document.RootElement.GetProperty(imageName));
    }

    public static readonly string[] Images = ["china.jpg", "flower.jpg", "flower_palette.png"];
}

/// <summary>object_detector against TorchServe's ObjectDetector postprocess on the eager torchvision SSD's output (make_detection.py), as ONNX and as TorchScript.</summary>
public class DetectorTests(ITestOutputHelper output)
{
    public static TheoryData<string> Formats => ["detector.onnx", "detector.pt"];

    /// <summary>Measured (see the test output): boxes within 2e-4 pixels, scores within 1e-7 on both backends.</summary>
    private const double BoxTolerance = 0.01;

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Each_image_of_a_batch_of_three_sizes_gets_torchserves_detections(string modelFile)
    {
        // 640x427, 640x427 and 320x213 in one batch: TorchServe's torch.stack would fail it whole.
        var answers = await Detect(modelFile, [.. Detection.Images.Select(n => new InferenceRequest(Fixtures.Image(n)))]);
        var (boxDifference, scoreDifference) = (0.0, 0.0);
        for (var i = 0; i < Detection.Images.Length; i++)
        {
            var expected = Detection.Expected(Detection.Images[i]);
            var ours = answers[i];
            Assert.NotEmpty(expected);
            Assert.Equal(expected.Select(d => d.Label), ours.Select(d => d.Label));
            for (var j = 0; j < expected.Length; j++)
            {
                Assert.Equal(4, ours[j].Box.Length);
                boxDifference = Math.Max(boxDifference, expected[j].Box.Zip(ours[j].Box, (a, b) => Math.Abs(a - b)).Max());
                scoreDifference = Math.Max(scoreDifference, Math.Abs(expected[j].Score - ours[j].Score));
            }
        }
        output.WriteLine($"{modelFile}: {answers.Sum(a => a.Length)} detections, labels and count as TorchServe's; " +
            $"max box difference {boxDifference:G3} px, max score difference {scoreDifference:G3}");
        Assert.InRange(boxDifference, 0, BoxTolerance);
        Assert.InRange(scoreDifference, 0, 1e-4);
    }

    [Fact]
    public async Task Boxes_are_in_the_original_images_pixels()
    {
        // The model resizes to 320x320 inside; its boxes come back in the 640x427 photograph's pixels.
        var answer = (await Detect("detector.onnx", [new InferenceRequest(Fixtures.Image("china.jpg"))]))[0];
        Assert.Contains(answer, d => d.Box[2] > 320 || d.Box[3] > 320);
        Assert.All(answer, d => Assert.True(d.Box[0] >= 0 && d.Box[1] >= 0 && d.Box[2] <= 640 && d.Box[3] <= 427, string.Join(", ", d.Box)));
    }

    [Fact]
    public async Task The_threshold_comes_from_the_handler_section_of_model_config()
    {
        var answer = (await Detect("detector.onnx", [new InferenceRequest(Fixtures.Image("china.jpg"))], "handler:\n  threshold: 0.7\n"))[0];
        var expected = Detection.Expected("china.jpg").Where(d => d.Score >= 0.7).ToArray();
        Assert.InRange(expected.Length, 1, Detection.Expected("china.jpg").Length - 1); // the threshold changes the answer
        Assert.Equal(expected.Select(d => d.Score), answer.Select(d => Math.Round(d.Score, 12)), (a, b) => Math.Abs(a - b) < 1e-4);
    }

    [Fact]
    public void The_threshold_is_compared_in_float32_as_pytorch_compares_a_float_tensor_with_a_python_float()
    {
        // torch.tensor([0.7], dtype=torch.float32) >= 0.7 is True: the score is 0.699999988 as a double.
        var directory = Directory.CreateTempSubdirectory("serve-detector-").FullName; // no index_to_name.json
        var context = new HandlerContext(new ModelManifest { ModelName = "detector" }, directory)
        {
            ModelConfig = ModelConfig.Parse(new StringReader("handler:\n  threshold: 0.7\n"), "model-config.yaml"),
        };
        var detections = new Detections([1, 2, 3, 4, 5, 6, 7, 8], [1, 2], [0.7f, 0.6999f]);

        var result = new ObjectDetector().Postprocess([detections], context)[0];
        Directory.Delete(directory);

        using var answer = JsonDocument.Parse(result.Body);
        var kept = Assert.Single(Detection.ParseList(answer.RootElement));
        Assert.Equal(("1", (double)0.7f), (kept.Label, kept.Score)); // no index_to_name.json: the index as text
        Assert.Equal([1.0, 2, 3, 4], kept.Box);
    }

    [Fact]
    public async Task An_image_over_max_pixels_is_refused_from_its_header_and_the_next_is_answered()
    {
        // china.jpg is 640x427 (273,280 pixels); flower_palette.png 320x213 (68,160).
        var directory = Fixtures.ModelDirectory("detector", "detector.onnx", "object_detector", "handler:\n  max_pixels: 100000\n");
        IReadOnlyList<InferenceResult> answers;
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            answers = await handler.HandleAsync([new InferenceRequest(Fixtures.Image("china.jpg")), new InferenceRequest(Fixtures.Image("flower_palette.png"))], context, CancellationToken.None);
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        Assert.False(answers[0].IsSuccess);
        Assert.Equal(InferenceErrorKind.InvalidRequest, answers[0].ErrorKind);
        Assert.Contains("The image is 640x427 pixels", answers[0].ErrorMessage);
        Assert.Contains("by this object detector (handler.max_pixels in model-config.yaml)", answers[0].ErrorMessage);
        Assert.True(answers[1].IsSuccess);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("high")]
    public async Task A_bad_threshold_fails_with_the_key_and_value(string threshold)
    {
        var directory = Fixtures.ModelDirectory("detector", "detector.onnx", "object_detector", $"handler:\n  threshold: {threshold}\n");
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            var error = await Assert.ThrowsAsync<HandlerStageException>(() =>
                handler.HandleAsync([new InferenceRequest(Fixtures.Image("flower.jpg"))], context, CancellationToken.None).AsTask());
            Assert.Contains($"handler.threshold in model-config.yaml is '{threshold}'; it must be a number from 0 to 1", error.Message);
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(BadImageTests.BadImages), MemberType = typeof(BadImageTests))]
    public void Each_bad_image_is_refused_with_a_clear_message(string what, byte[] body, string message)
    {
        var context = new HandlerContext(new ModelManifest { ModelName = "detector" }, AppContext.BaseDirectory);
        var error = Assert.Throws<InvalidRequestException>(() => new ObjectDetector().Preprocess(new InferenceRequest(body), context));
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public async Task A_bad_image_in_a_batch_fails_alone_and_base64_gives_the_same_answer()
    {
        var bytes = Fixtures.Image("flower.jpg");
        InferenceRequest[] batch =
        [
            new(bytes),
            new("not an image"u8.ToArray()),
            new(JsonSerializer.SerializeToUtf8Bytes(new { data = Convert.ToBase64String(bytes) }), "application/json"),
        ];
        var directory = Fixtures.ModelDirectory("detector", "detector.onnx", "object_detector");
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            var results = await handler.HandleAsync(batch, context, CancellationToken.None);
            context.Model?.Dispose();
            Assert.True(results[0].IsSuccess);
            Assert.Equal(InferenceErrorKind.InvalidRequest, results[1].ErrorKind);
            Assert.Contains("is not an image", results[1].ErrorMessage);
            Assert.Equal(results[0].Body.ToArray(), results[2].Body.ToArray());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_torchscript_file_calling_torchvisions_cpp_operators_is_refused_before_libtorch_loads_it()
    {
        // Loading it would abort the process (libtorch 2.10 has no torchvision::nms); this test would crash the run.
        var directory = Fixtures.ModelDirectory("detector", "torchvision_ops.pt", "object_detector");
        try
        {
            var error = await Assert.ThrowsAsync<ModelLoadException>(() => ClassifierParityTests.Load(directory));
            Assert.Contains("calls torchvision's C++ operator torchvision::nms", error.Message);
            Assert.Contains("Export the model to ONNX", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_torchscript_model_returning_dicts_as_torchvisions_scripted_detectors_do_fails_to_load_saying_to_return_a_tuple()
    {
        // dict_outputs.pt returns (losses, detections) with dicts, as torch.jit.script(torchvision detector) does:
        // TorchSharp cannot return that, so it is refused at load rather than failing every request.
        var directory = Fixtures.ModelDirectory("detector", "dict_outputs.pt", "object_detector");
        try
        {
            var error = await Assert.ThrowsAsync<ModelLoadException>(() => ClassifierParityTests.Load(directory)); // the server reports the model as failed
            output.WriteLine(error.Message);
            Assert.Contains("returns Tuple[Dict[str, Tensor], List[Dict[str, Tensor]]], and TorchSharp 0.107 cannot return dicts", error.Message);
            Assert.Contains("scripts/export_torchserve_detector.py", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Outputs_that_are_not_boxes_labels_and_scores_are_refused_naming_what_the_model_returned()
    {
        using var logits = new Tensor<float>(new float[10], 1, 10);
        var error = Assert.Throws<InvalidOperationException>(() => Detections.FromModelOutputs([logits], "classifier"));
        Assert.Contains("return three outputs, in any order: boxes (N x 4, float), labels (N, int64) and scores (N, float)", error.Message);
        Assert.Contains("it returned Float[1, 10]", error.Message);

        using var boxes = new Tensor<float>(new float[8], 2, 4);
        using var scores = new Tensor<float>(new float[2], 2);
        using var floatLabels = new Tensor<float>(new float[2], 2);
        error = Assert.Throws<InvalidOperationException>(() => Detections.FromModelOutputs([boxes, floatLabels, scores], "detector"));
        Assert.Contains("it returned Float[2, 4], Float[2], Float[2]", error.Message);

        using var labels = new Tensor<long>(new long[] { 3, 1 }, 2);
        var detections = Detections.FromModelOutputs([boxes, scores, labels], "detector"); // SSD's order
        Assert.Equal([3L, 1L], detections.Labels);
        Assert.Equal(2, detections.Count);
    }

    private static async Task<Detection[][]> Detect(string modelFile, InferenceRequest[] batch, string? modelConfig = null)
    {
        var directory = Fixtures.ModelDirectory("detector", modelFile, "object_detector", modelConfig);
        try
        {
            var (handler, context) = await ClassifierParityTests.Load(directory);
            var results = await handler.HandleAsync(batch, context, CancellationToken.None);
            context.Model?.Dispose();
            return [.. results.Select(r =>
            {
                Assert.True(r.IsSuccess, r.ErrorMessage);
                using var document = JsonDocument.Parse(r.Body);
                return Detection.ParseList(document.RootElement);
            })];
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
