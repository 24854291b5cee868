using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;

namespace Serve.Handlers.Tests;

/// <summary>
/// Real Kestrel on 127.0.0.1 serving the detector as ONNX and as TorchScript with no handler code:
/// each model directory's manifest names the built-in "object_detector"; batches of up to 4.
/// </summary>
public sealed class DetectorServer() : BuiltInServer(
    ("detector_onnx", Fixtures.ModelDirectory("detector", "detector.onnx", "object_detector", BatchConfig)),
    ("detector_torchscript", Fixtures.ModelDirectory("detector", "detector.pt", "object_detector", BatchConfig)))
{
    private const string BatchConfig = "batchSize: 4\nmaxBatchDelay: 50\n";
}

public class DetectorOverHttpTests(DetectorServer server) : IClassFixture<DetectorServer>
{
    [Theory]
    [InlineData("detector_onnx")]
    [InlineData("detector_torchscript")]
    public async Task Images_of_different_sizes_sent_together_each_get_torchserves_detections(string model)
    {
        // Sent at once, so the server batches them (batchSize 4): 640x427 photographs and a 320x213 PNG.
        var answers = await Task.WhenAll(Detection.Images.Select(async name =>
        {
            using var response = await server.Client.PostAsync($"/predictions/{model}", new ByteArrayContent(Fixtures.Image(name)));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            using var document = JsonDocument.Parse(body);
            return Detection.ParseList(document.RootElement);
        }));
        for (var i = 0; i < answers.Length; i++)
        {
            var expected = Detection.Expected(Detection.Images[i]);
            Assert.Equal(expected.Select(d => d.Label), answers[i].Select(d => d.Label));
            Assert.All(expected.Zip(answers[i]), pair =>
            {
                Assert.InRange(Math.Abs(pair.First.Score - pair.Second.Score), 0, 1e-4);
                Assert.InRange(pair.First.Box.Zip(pair.Second.Box, (a, b) => Math.Abs(a - b)).Max(), 0, 0.01);
            });
        }
    }

    [Fact]
    public async Task A_truncated_jpeg_gets_400_with_the_reason_and_the_next_request_is_answered()
    {
        var jpeg = Fixtures.Image("china.jpg");
        using (var response = await server.Client.PostAsync("/predictions/detector_onnx", new ByteArrayContent(jpeg[..(jpeg.Length / 2)])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("InvalidRequestException", error.RootElement.GetProperty("type").GetString());
            Assert.Contains("truncated", error.RootElement.GetProperty("message").GetString());
        }
        using var next = await server.Client.PostAsync("/predictions/detector_onnx", new ByteArrayContent(jpeg));
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        using var answer = JsonDocument.Parse(await next.Content.ReadAsStringAsync());
        Assert.Equal(Detection.Expected("china.jpg").Length, answer.RootElement.GetArrayLength());
    }
}
