using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;

namespace Serve.TorchServe.Tests.Postman;

/// <summary>TorchServe's Postman inference suite: each iteration's four requests, in order, against one server.</summary>
public sealed class PostmanInferenceTests
{
    // The collection's metrics check, as it is.
    private static readonly Regex TorchServeRequests2XX = new(@".*Requests2XX\{Level=""Host"",Hostname="".*"",\} \d+\.\d+.*");

    [Fact]
    public async Task Every_iteration_registers_predicts_unregisters_and_counts_as_TorchServes_does()
    {
        var iterations = InferenceSuite.Iterations;
        await using var server = await PostmanServer.StartAsync(
            [.. iterations.Where(i => !i.Url.Contains("://", StringComparison.Ordinal)).Select(i => i.StandIn)],
            [.. iterations.Where(i => i.Url.Contains("://", StringComparison.Ordinal)).Select(i => i.StandIn)]);
        using var expected = JsonDocument.Parse(File.ReadAllText(StandIn.Fixture("vision/expected.json")));
        var topFive = expected.RootElement.GetProperty("china.jpg");

        foreach (var iteration in iterations)
        {
            // "Model Zoo - Register Model": 200.
            using (var registered = await server.Management("POST", $"models?url={iteration.Url}&model_name={iteration.ModelName}&initial_workers=1&synchronous=true"))
            {
                Assert.True(registered.StatusCode == HttpStatusCode.OK, $"{iteration}: register answered {registered.StatusCode} {await registered.Content.ReadAsStringAsync()}");
            }

            // "Model Zoo - Inference Model": 200, and the body where the suite checks it.
            using (var predicted = await server.Inference($"/predictions/{iteration.ModelName}", Body(iteration.Request)))
            {
                var body = await predicted.Content.ReadAsStringAsync();
                var status = iteration.PredictDiffers?.Status ?? 200;
                Assert.True((int)predicted.StatusCode == status, $"{iteration}: predict answered {predicted.StatusCode} {body}");
                switch (iteration.Check)
                {
                    case BodyCheck.ImageClassification:
                        // The validator: the same five labels, each within 5% of the expected probability.
                        var answer = JsonDocument.Parse(body).RootElement;
                        Assert.Equal(topFive.EnumerateObject().Select(p => p.Name).Order(), answer.EnumerateObject().Select(p => p.Name).Order());
                        foreach (var top in topFive.EnumerateObject())
                        {
                            var want = top.Value.GetDouble();
                            Assert.True(Math.Abs(want - answer.GetProperty(top.Name).GetDouble()) < want * 5 / 100, $"{iteration}: {top.Name} {answer.GetProperty(top.Name)} against {want}");
                        }
                        break;
                    case BodyCheck.DigitZero:
                        Assert.Equal(0, JsonDocument.Parse(body).RootElement.GetProperty("digit").GetInt32());
                        break;
                    case BodyCheck.ExampleHandlerText:
                        // A label -> probability map from the stand-in; TorchServe's example handler's text is its own.
                        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(body).RootElement.ValueKind);
                        break;
                }
            }

            // "Model Zoo - Unregister model": 200, 201 or 202.
            using (var unregistered = await server.Management("DELETE", $"models/{iteration.ModelName}"))
            {
                Assert.True((int)unregistered.StatusCode is 200 or 201 or 202, $"{iteration}: unregister answered {unregistered.StatusCode}");
            }

            // "Model Zoo - Model Metrics": TorchServe's regular expression expects its own writer's form
            // (labels in its order, a trailing comma, a decimal value); ours is OpenTelemetry's, so the
            // same sample is checked by its parts (docs/torchserve.md, "Prometheus text").
            var metrics = await server.MetricsText();
            Assert.DoesNotMatch(TorchServeRequests2XX, metrics);
            Assert.Matches(new Regex(@"\nRequests2XX\{[^}]*Level=""Host""[^}]*\} \d+\n"), metrics);
            var host = PrometheusSample.Parse(metrics).Single(s => s.Name == "Requests2XX" && s.Labels.GetValueOrDefault("Level") == "Host");
            Assert.True(host.Labels.ContainsKey("Hostname") && host.Value >= 3, $"{iteration}: {host}");
        }
    }

    [Fact]
    public void The_suite_is_TorchServes_23_iterations_and_each_difference_names_a_row_of_the_docs()
    {
        Assert.Equal(Enumerable.Range(0, 23), InferenceSuite.Iterations.Select(i => i.Index));
        PostmanDocs.AssertDocumented(InferenceSuite.Iterations.Where(i => i.PredictDiffers is not null)
            .Select(i => new PostmanCase(i.Index, i.ModelName, "POST", $"/predictions/{i.ModelName}", 200, i.PredictDiffers!.Value.Status, i.PredictDiffers.Value.Why)));
        PostmanDocs.AssertRow("Prometheus text");
    }

    private static HttpContent Body(string request) =>
        request.StartsWith("text:", StringComparison.Ordinal)
            ? new ByteArrayContent(Encoding.UTF8.GetBytes(request["text:".Length..]))
            : new ByteArrayContent(File.ReadAllBytes(StandIn.Fixture(request)));
}
