using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Samples.Digits;
using Xunit;

namespace Serve.TorchServe.Tests.Postman;

/// <summary>
/// TorchServe's Postman KServe v2 suite (test/postman/kfv2_api_test_collection.json with
/// kfv2_inference_data.json: one iteration, MNIST): register, <c>/v2/models/mnist/infer</c> with a
/// JSON tensor, <c>/v2/models/mnist/explain</c>, unregister, metrics. The MNIST model is stood in
/// for by the digits sample (8x8 digits, so the tensor is the digit 1 as 1x8x8 instead of
/// kf_request_json/v2/mnist/mnist_v2_tensor.json's 1x28x28, with the same id and input name).
/// </summary>
public sealed class PostmanKServeV2Tests
{
    private const string Id = "d3b15cad-50a2-4eaf-80ce-8b0a428bd298";

    [Fact]
    public async Task The_iteration_registers_infers_explains_and_unregisters_with_TorchServes_codes_or_a_documented_difference()
    {
        await using var server = await PostmanServer.StartAsync([new("mnist.mar", "mnist", "digits", "digits-model/digits.onnx")], []);

        using (var registered = await server.Management("POST", "models?url=mnist.mar&model_name=mnist&initial_workers=1&synchronous=true"))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }

        using (var inferred = await server.Inference("/v2/models/mnist/infer", Tensor()))
        {
            var body = await inferred.Content.ReadAsStringAsync();
            Assert.True(inferred.StatusCode == HttpStatusCode.OK, body);
            // TorchServe's expected answer's envelope: the request's id, the model's name and version.
            var answer = JsonDocument.Parse(body).RootElement;
            Assert.Equal((Id, "mnist", "1.0"), (answer.GetProperty("id").GetString(), answer.GetProperty("model_name").GetString(), answer.GetProperty("model_version").GetString()));
            var output = Assert.Single(answer.GetProperty("outputs").EnumerateArray());
            Assert.Equal(1, JsonDocument.Parse(output.GetProperty("data")[0].GetString()!).RootElement.GetProperty("digit").GetInt32());
        }

        // TorchServe: 200 (its BaseHandler explains any model with Captum's integrated gradients).
        // Here explanations are a handler's [Explain] stage; the digits handler has none.
        using (var explained = await server.Inference("/v2/models/mnist/explain", Tensor()))
        {
            Assert.Equal(HttpStatusCode.NotImplemented, explained.StatusCode);
            Assert.Contains("has no [Explain] stage", await explained.Content.ReadAsStringAsync());
        }
        PostmanDocs.AssertRow("a handler without an [Explain] stage");

        using (var unregistered = await server.Management("DELETE", "models/mnist"))
        {
            Assert.Equal(HttpStatusCode.OK, unregistered.StatusCode);
        }
        var host = PrometheusSample.Parse(await server.MetricsText()).Single(s => s.Name == "Requests2XX" && s.Labels.TryGetValue("Level", out var level) && level == "Host");
        Assert.True(host.Value >= 3, host.ToString());
    }

    private static StringContent Tensor()
    {
        var digit = DigitImage.ToTensor(File.ReadAllBytes(StandIn.Fixture("images/1.png")));
        var request = new
        {
            id = Id,
            inputs = new[] { new { name = "input-0", shape = new[] { 1, DigitImage.Side, DigitImage.Side }, datatype = "FP32", data = digit.ToArray() } },
        };
        return new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");
    }
}
