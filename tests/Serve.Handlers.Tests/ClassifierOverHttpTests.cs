using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;

namespace Serve.Handlers.Tests;

/// <summary>
/// Real Kestrel on 127.0.0.1 serving the classifier as ONNX and as TorchScript with no handler
/// code: each model directory's manifest names the built-in "image_classifier".
/// </summary>
public sealed class ClassifierServer() : BuiltInServer(
    ("onnx", Fixtures.ClassifierDirectory("classifier.onnx", "batchSize: 4\nmaxBatchDelay: 20\n")),
    ("torchscript", Fixtures.ClassifierDirectory("classifier.pt", "batchSize: 4\nmaxBatchDelay: 20\n")),
    // One worker that waits for a full batch of 4: requests sent together share a batch.
    ("onnx_full_batches", Fixtures.ClassifierDirectory("classifier.onnx", "batchSize: 4\nmaxBatchDelay: 10000\nminWorkers: 1\nmaxWorkers: 1\n")),
    ("torchscript_full_batches", Fixtures.ClassifierDirectory("classifier.pt", "batchSize: 4\nmaxBatchDelay: 10000\nminWorkers: 1\nmaxWorkers: 1\n")),
    ("segmenter_onnx", Fixtures.ModelDirectory("segmenter", "segmenter.onnx", "image_segmenter")),
    ("segmenter_torchscript", Fixtures.ModelDirectory("segmenter", "segmenter.pt", "image_segmenter")));

public class ClassifierOverHttpTests(ClassifierServer server) : IClassFixture<ClassifierServer>
{
    [Theory]
    [InlineData("onnx")]
    [InlineData("torchscript")]
    public async Task Every_test_image_gets_torchserves_answer(string model)
    {
        var names = Fixtures.ImageNames.ToArray();
        var answers = await Task.WhenAll(names.Select(async name =>
        {
            using var response = await server.Client.PostAsync($"/predictions/{model}", new ByteArrayContent(Fixtures.Image(name)));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            return JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        }));
        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(Fixtures.Expected(names[i]).Select(e => e.Label), answers[i]);
        }
    }

    /// <summary>TorchServe answers these 200; a 7x5 image was a 400 here, and base64 as text/plain a 400 "not an image".</summary>
    [Fact]
    public async Task A_7x5_image_and_base64_sent_as_text_plain_get_torchserves_answers()
    {
        var reference = JsonDocument.Parse(System.IO.File.ReadAllBytes(System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve-reference", "classifier.json"))).RootElement.GetProperty("results");
        var tiny = System.IO.File.ReadAllBytes(System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve-reference", "images", "tiny_7x5.jpg"));
        var base64 = new StringContent(Convert.ToBase64String(Fixtures.Image("china.jpg")), System.Text.Encoding.ASCII, "text/plain");
        foreach (var (content, name) in new (HttpContent, string)[] { (new ByteArrayContent(tiny), "tiny_7x5.jpg"), (base64, "china.jpg as base64 text/plain") })
        {
            using var response = await server.Client.PostAsync("/predictions/onnx", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal(
                reference.GetProperty(name).GetProperty("output").EnumerateObject().Select(p => p.Name),
                JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public async Task A_truncated_jpeg_gets_400_with_the_reason()
    {
        var jpeg = Fixtures.Image("flower.jpg");
        using var response = await server.Client.PostAsync("/predictions/onnx", new ByteArrayContent(jpeg[..(jpeg.Length / 2)]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("InvalidRequestException", error.RootElement.GetProperty("type").GetString());
        Assert.Contains("truncated", error.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Explanations_are_served_for_the_predicted_class()
    {
        using var response = await server.Client.PostAsync("/explanations/torchscript", new ByteArrayContent(Fixtures.Image("china.jpg")));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var explanation = JsonDocument.Parse(body);
        Assert.Equal(Fixtures.Expected("china.jpg")[0].Label, explanation.RootElement.GetProperty("target").GetString());
        Assert.Equal(14, explanation.RootElement.GetProperty("attributions").GetArrayLength()); // 224 / 16
    }

    [Theory]
    [InlineData("segmenter_onnx")]
    [InlineData("segmenter_torchscript")]
    public async Task The_segmenter_answers_224_rows_of_224_class_probability_pairs(string model)
    {
        using var response = await server.Client.PostAsync($"/predictions/{model}", new ByteArrayContent(Fixtures.Image("flower.jpg")));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body[..Math.Min(body.Length, 300)]);
        using var answer = JsonDocument.Parse(body);
        Assert.Equal(224, answer.RootElement.GetArrayLength());
        Assert.All(answer.RootElement.EnumerateArray(), row =>
        {
            Assert.Equal(224, row.GetArrayLength());
            Assert.All(row.EnumerateArray(), pixel => Assert.InRange(pixel[1].GetDouble(), 0.25, 1.0)); // 4 classes: the best has at least 1/4
        });
    }

    [Theory]
    [InlineData("onnx")]
    [InlineData("torchscript")]
    public async Task KServe_v1_instances_in_one_body_get_one_prediction_each_in_order(string model)
    {
        // As KServe's v1 clients and TorchServe's kserve_wrapper send them: {"data": ...}, the v1
        // binary form {"b64": ...}, and a bare base64 string.
        string[] names = ["flower.jpg", "china.jpg", "flower_palette.png"];
        var body = JsonSerializer.Serialize(new
        {
            instances = new object[]
            {
                new { data = Convert.ToBase64String(Fixtures.Image(names[0])) },
                new { b64 = Convert.ToBase64String(Fixtures.Image(names[1])) },
                Convert.ToBase64String(Fixtures.Image(names[2])),
            },
        });
        using var response = await server.Client.PostAsync($"/v1/models/{model}:predict", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var answer = JsonDocument.Parse(text);
        var predictions = answer.RootElement.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(names.Length, predictions.Length);
        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(Fixtures.Expected(names[i]).Select(e => e.Label), predictions[i].EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public async Task KServe_v1_segmenter_answers_one_class_map_per_instance()
    {
        var image = Convert.ToBase64String(Fixtures.Image("china.jpg"));
        var body = JsonSerializer.Serialize(new { instances = new[] { new { data = image }, new { data = image } } });
        using var response = await server.Client.PostAsync("/v1/models/segmenter_onnx:predict", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text[..Math.Min(text.Length, 300)]);
        using var answer = JsonDocument.Parse(text);
        var predictions = answer.RootElement.GetProperty("predictions").EnumerateArray().ToArray();
        Assert.Equal(2, predictions.Length);
        Assert.All(predictions, p => Assert.Equal(224, p.GetArrayLength()));
        Assert.Equal(predictions[0].GetRawText(), predictions[1].GetRawText());
    }

    [Theory]
    [InlineData("/v1/models/onnx:predict", "{\"instances\": [{\"data\": \"aGVsbG8=\"}]}", 400, "The body is not an image")]
    [InlineData("/v1/models/onnx:predict", "{\"inputs\": []}", 400, "\"instances\" array")]
    [InlineData("/v1/models/onnx:predict", "{\"instances\": []}", 400, "1 to 64")]
    [InlineData("/v1/models/onnx:predict", "not json", 400, "not valid JSON")]
    [InlineData("/v1/models/nope:predict", "{\"instances\": [1]}", 404, "Model not found: nope")]
    [InlineData("/v1/models/onnx:train", "{\"instances\": [1]}", 404, ":predict and :explain")]
    public async Task KServe_v1_bad_requests_get_the_status_and_reason(string path, string body, int status, string message)
    {
        using var response = await server.Client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(message, error.RootElement.GetProperty("message").GetString());
    }
}
