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

/// <summary>
/// The image_classifier built-in against TorchServe's ImageClassifier postprocess on torchvision's preprocessing of each
/// image after EXIF orientation and RGB conversion (Serve's choice: TorchServe's own handler does neither; its own
/// answers are compared in TorchServeReferenceTests), on the same model, ONNX and TorchScript.
/// </summary>
public class ClassifierParityTests
{
    public static TheoryData<string> Formats => ["classifier.onnx", "classifier.pt"];

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Top5_labels_are_torchserves_on_every_test_image(string modelFile)
    {
        var names = Fixtures.ImageNames.ToArray();
        var answers = await Classify(modelFile, names.Select(n => new InferenceRequest(Fixtures.Image(n))).ToArray());
        for (var i = 0; i < names.Length; i++)
        {
            var expected = Fixtures.Expected(names[i]);
            var ours = answers[i];
            Assert.Equal(expected.Select(e => e.Label), ours.Select(e => e.Label));
            for (var j = 0; j < expected.Count; j++)
            {
                Assert.InRange(Math.Abs(ours[j].Probability - expected[j].Probability), 0, 1e-4);
            }
        }
    }

    [Fact]
    public async Task Topk_comes_from_the_handler_section_of_model_config()
    {
        var answers = await Classify("classifier.onnx", [new InferenceRequest(Fixtures.Image("flower.jpg"))], "handler:\n  topk: 3\n");
        Assert.Equal(Fixtures.Expected("flower.jpg").Take(3).Select(e => e.Label), answers[0].Select(e => e.Label));
    }

    [Fact]
    public async Task A_bad_topk_fails_with_the_key_and_value()
    {
        var directory = Fixtures.ClassifierDirectory("classifier.onnx", "handler:\n  topk: none\n");
        try
        {
            var (handler, context) = await Load(directory);
            var error = await Assert.ThrowsAsync<HandlerStageException>(() =>
                handler.HandleAsync([new InferenceRequest(Fixtures.Image("flower.jpg"))], context, CancellationToken.None).AsTask());
            Assert.Contains("handler.topk in model-config.yaml is 'none'", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Base64_in_json_and_raw_bytes_in_one_batch_give_the_same_answer_and_a_bad_image_fails_alone()
    {
        var bytes = Fixtures.Image("china.jpg");
        var base64 = Convert.ToBase64String(bytes);
        InferenceRequest[] batch =
        [
            new(bytes),
            new(JsonSerializer.SerializeToUtf8Bytes(base64), "application/json"),
            new(JsonSerializer.SerializeToUtf8Bytes(new { data = base64 }), "application/json"),
            new("not an image"u8.ToArray()),
        ];
        var directory = Fixtures.ClassifierDirectory("classifier.onnx");
        try
        {
            var (handler, context) = await Load(directory);
            var results = await handler.HandleAsync(batch, context, CancellationToken.None);
            Assert.Equal(4, results.Count);
            var first = results[0].Body.ToArray();
            Assert.Equal(first, results[1].Body.ToArray());
            Assert.Equal(first, results[2].Body.ToArray());
            Assert.Equal(InferenceErrorKind.InvalidRequest, results[3].ErrorKind);
            Assert.Contains("is not an image", results[3].ErrorMessage);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<List<(string Label, double Probability)>[]> Classify(string modelFile, InferenceRequest[] batch, string? modelConfig = null)
    {
        var directory = Fixtures.ClassifierDirectory(modelFile, modelConfig);
        try
        {
            var (handler, context) = await Load(directory);
            var results = await handler.HandleAsync(batch, context, CancellationToken.None);
            context.Model?.Dispose();
            return [.. results.Select(r =>
            {
                Assert.True(r.IsSuccess, System.Text.Encoding.UTF8.GetString(r.Body.Span));
                using var document = JsonDocument.Parse(r.Body);
                return document.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetDouble())).ToList();
            })];
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static async Task<(IHandler Handler, HandlerContext Context)> Load(string directory)
    {
        var manifest = ModelManifest.Read(directory);
        var configPath = Path.Combine(directory, "model-config.yaml");
        var context = new HandlerContext(manifest, directory)
        {
            ModelConfig = File.Exists(configPath) ? ModelConfig.Read(configPath) : ModelConfig.Default,
            ModelLoaders = [new OnnxModelLoader(), new TorchModelLoader()],
        };
        var registration = Microsoft.Extensions.DependencyInjection.ServeBuiltInHandlersServeRegistration.Handlers.Single(h => h.Name == manifest.Handler);
        var handler = registration.Create();
        await handler.InitializeAsync(context, CancellationToken.None);
        return (handler, context);
    }
}
