using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>
/// An image sent as a tensor, as TorchServe's VisionHandler takes one (<c>torch.FloatTensor(data)</c>,
/// no decode, no transforms): over the Open Inference Protocol's binary extension and as a JSON list.
/// </summary>
public class TensorInputTests(ClassifierServer server) : IClassFixture<ClassifierServer>
{
    private static float[] ChinaTensor => Fixtures.TorchvisionTensor("china.jpg");

    [Theory]
    [InlineData("onnx")]
    [InlineData("torchscript")]
    public async Task A_preprocessed_tensor_over_the_open_inference_protocol_gets_the_images_answer(string model)
    {
        var values = MemoryMarshal.AsBytes(ChinaTensor.AsSpan()).ToArray();
        var header = Encoding.UTF8.GetBytes(
            $$$"""{"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32", "parameters": {"binary_data_size": {{{values.Length}}}}}]}""");
        var content = new ByteArrayContent([.. header, .. values]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));

        using var response = await server.Client.PostAsync($"/v2/models/{model}/infer", content);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var answer = JsonDocument.Parse(JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString()!);
        Assert.Equal(Fixtures.Expected("china.jpg").Select(e => e.Label), answer.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task A_tensor_as_a_json_list_gets_the_images_answer()
    {
        var values = ChinaTensor;
        var json = new StringBuilder("{\"data\": [");
        for (var c = 0; c < 3; c++)
        {
            json.Append(c > 0 ? ",[" : "[");
            for (var y = 0; y < 224; y++)
            {
                json.Append(y > 0 ? ",[" : "[").AppendJoin(',', values.Skip((c * 224 + y) * 224).Take(224).Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append(']');
            }
            json.Append(']');
        }
        json.Append("]}");

        using var response = await server.Client.PostAsync("/predictions/onnx", new StringContent(json.ToString(), Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(Fixtures.Expected("china.jpg").Select(e => e.Label), JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task A_tensor_the_model_cannot_take_is_the_clients_error_naming_the_shape()
    {
        using var response = await server.Client.PostAsync("/predictions/onnx", new StringContent("[[[1, 2], [3, 4]]]", Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("takes shape [-1, 3, 224, 224] (-1: any size), one row per request; this request's tensor has shape [1, 2, 2]", body);
    }

    [Fact]
    public async Task A_tensor_the_model_cannot_take_fails_alone_and_the_images_batched_with_it_are_answered()
    {
        // The model waits for a batch of four, so these four share one.
        var sent = new HttpContent[]
        {
            new ByteArrayContent(Fixtures.Image("china.jpg")),
            new StringContent("[[[1, 2], [3, 4]]]", Encoding.UTF8, "application/json"),
            new ByteArrayContent(Fixtures.Image("china.jpg")),
            new ByteArrayContent(Fixtures.Image("china.jpg")),
        };

        var answers = await Task.WhenAll(sent.Select(async content =>
        {
            using var response = await server.Client.PostAsync("/predictions/onnx_full_batches", content);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.OK, HttpStatusCode.OK], answers.Select(a => a.StatusCode));
        Assert.Contains("this request's tensor has shape [1, 2, 2]", answers[1].Body);
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.OK), a =>
            Assert.Equal(Fixtures.Expected("china.jpg").Select(e => e.Label), JsonDocument.Parse(a.Body).RootElement.EnumerateObject().Select(p => p.Name)));
    }

    [Fact]
    public async Task A_tensor_of_another_size_that_the_model_takes_shares_the_batch_and_gets_the_answer_it_gets_alone()
    {
        // The traced classifier pools any size: a 3 x 64 x 64 tensor and three images (3 x 224 x 224) in one batch of four.
        var pixels = string.Join(", ", Enumerable.Range(0, 64).Select(y => "[" + string.Join(", ", Enumerable.Range(0, 64).Select(x => ((x * y) % 7 / 7.0).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]"));
        var tensor = $"[[{pixels}], [{pixels}], [{pixels}]]";
        HttpContent[] sent =
        [
            new ByteArrayContent(Fixtures.Image("china.jpg")),
            new StringContent(tensor, Encoding.UTF8, "application/json"),
            new ByteArrayContent(Fixtures.Image("china.jpg")),
            new ByteArrayContent(Fixtures.Image("china.jpg")),
        ];

        var answers = await Task.WhenAll(sent.Select(async content =>
        {
            using var response = await server.Client.PostAsync("/predictions/torchscript_full_batches", content);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        using var alone = await server.Client.PostAsync("/predictions/torchscript", new StringContent(tensor, Encoding.UTF8, "application/json"));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(await alone.Content.ReadAsStringAsync(), answers[1].Body);
        Assert.All(new[] { answers[0], answers[2], answers[3] }, a =>
            Assert.Equal(Fixtures.Expected("china.jpg").Select(e => e.Label), JsonDocument.Parse(a.Body).RootElement.EnumerateObject().Select(p => p.Name)));
    }

    [Theory]
    [InlineData("[[[1, 2], [3]]]", "ragged: a list at depth 3 has 1 elements where the first there had 2")]
    [InlineData("[[1, [2]]]", "ragged: numbers and lists side by side")]
    [InlineData("[[[1]], [2]]", "ragged: numbers and lists side by side")]
    [InlineData("[[]]", "holds an empty list")]
    [InlineData("[[\"a\"]]", "numbers and lists only, not String")]
    [InlineData("[[1, 2]", "not one")]
    [InlineData("[1, 2, 3]", "C x H x W (or 1 x C x H x W); this one's shape is [3]")]
    [InlineData("[[[[[1]]]]]", "this one's shape is [1, 1, 1, 1, 1]")]
    [InlineData("[[[[[[[[[1]]]]]]]]]", "nested deeper than 8 levels")]
    public void A_list_that_is_no_image_tensor_is_refused_saying_why(string json, string reason)
    {
        var error = Assert.Throws<InvalidRequestException>(() => TensorInput.TryRead(Request(json, "application/json"), out _));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void A_leading_batch_dimension_of_one_is_dropped_and_the_values_kept_in_order()
    {
        Assert.True(TensorInput.TryRead(Request("{\"body\": [[[[1, 2], [3, 4.5]]]]}", "application/json"), out var tensor));
        Assert.Equal([1L, 2, 2], tensor.Shape);
        Assert.Equal([1f, 2f, 3f, 4.5f], tensor.Span.ToArray());
    }

    [Fact]
    public void An_fp32_tensor_body_is_taken_as_sent_and_another_element_type_refused()
    {
        float[] values = [0.5f, -1f, 2f, 3f];
        var body = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        Assert.True(TensorInput.TryRead(Request(body, TensorBody.ContentType("FP32", [1, 1, 2, 2])), out var tensor));
        Assert.Equal([1L, 2, 2], tensor.Shape);
        Assert.Equal(values, tensor.Span.ToArray());

        var error = Assert.Throws<InvalidRequestException>(() => TensorInput.TryRead(Request(new byte[4], TensorBody.ContentType("INT32", [1])), out _));
        Assert.Contains("must be FP32", error.Message);

        var tooFew = Assert.Throws<InvalidRequestException>(() => TensorInput.TryRead(Request(body, TensorBody.ContentType("FP32", [3, 2, 2])), out _));
        Assert.Contains("of shape [3, 2, 2] holds 12 values; this one holds 4", tooFew.Message);
    }

    [Theory]
    [InlineData("{\"data\": \"aGVsbG8=\"}")]
    [InlineData("\"aGVsbG8=\"")]
    [InlineData("{\"b64\": \"aGVsbG8=\"}")]
    public void An_image_in_base64_is_not_a_tensor(string json) =>
        Assert.False(TensorInput.TryRead(Request(json, "application/json"), out _));

    [Fact]
    public void Image_bytes_are_not_a_tensor() =>
        Assert.False(TensorInput.TryRead(Request(Fixtures.Image("china.jpg"), "image/jpeg"), out _));

    private static InferenceRequest Request(string body, string contentType) => Request(Encoding.UTF8.GetBytes(body), contentType);

    private static InferenceRequest Request(byte[] body, string contentType) => new(body, contentType);
}
