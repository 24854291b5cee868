using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Behaviour;

/// <summary>Generated handlers, compiled by the real generator, called through IHandler.</summary>
public class HandlerBehaviourTests
{
    [Fact]
    public async Task Stages_run_in_order_and_get_the_context_and_token()
    {
        var handler = new RecordingHandler();
        IHandler pipeline = handler;
        var context = Context("recording");
        using var cancellation = new CancellationTokenSource();

        await pipeline.InitializeAsync(context, cancellation.Token);
        var results = await pipeline.HandleAsync(Batch("a", "bb"), context, cancellation.Token);

        Assert.Equal(["initialize", "preprocess a", "preprocess bb", "inference a,bb", "postprocess 2"], handler.Calls);
        Assert.Same(context, handler.SeenContext);
        Assert.Equal(cancellation.Token, handler.SeenToken);
        Assert.Equal(["{\"text\":\"A\",\"length\":1}", "{\"text\":\"BB\",\"length\":2}"], results.Select(Body));
        Assert.All(results, r => Assert.Equal("application/json", r.ContentType));
    }

    [Fact]
    public async Task Explain_runs_preprocess_then_the_explain_stage()
    {
        var handler = new RecordingHandler();
        IHandler pipeline = handler;
        Assert.True(pipeline.CanExplain);

        var results = await pipeline.ExplainAsync(Batch("x"), Context("explaining"), CancellationToken.None);

        Assert.Equal(["preprocess x", "explain 1"], handler.Calls);
        Assert.Equal("because x", Body(results.Single()));
        Assert.StartsWith("text/plain", results.Single().ContentType);
    }

    [Fact]
    public async Task A_handler_without_explain_says_so()
    {
        IHandler pipeline = new FailingHandler();
        Assert.False(pipeline.CanExplain);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await pipeline.ExplainAsync(Batch("x"), Context("no-explain"), CancellationToken.None));
    }

    [Theory]
    [InlineData("fail preprocess", HandlerStage.Preprocess, "preprocess broke")]
    [InlineData("fail inference", HandlerStage.Inference, "inference broke")]
    [InlineData("wrong count", HandlerStage.Postprocess, "Returned 2 results for a batch of 1 requests")]
    public async Task A_failing_stage_is_named_in_the_error(string body, HandlerStage stage, string detail)
    {
        IHandler pipeline = new FailingHandler();
        var error = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await pipeline.HandleAsync(Batch(body), Context("failing"), CancellationToken.None));

        Assert.Equal(stage, error.Stage);
        Assert.Equal("behaviour-failing", error.HandlerName);
        Assert.Contains($"The {stage.DisplayName()} stage of handler 'behaviour-failing' failed", error.Message);
        Assert.Contains(detail, error.Message);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task A_request_refused_by_preprocess_fails_alone()
    {
        IHandler pipeline = new FailingHandler();
        var results = await pipeline.HandleAsync(Batch("one", "bad", "two"), Context("refusing"), CancellationToken.None);

        Assert.Equal([200, 400, 200], results.Select(r => r.StatusCode));
        Assert.Equal("one", Body(results[0]));
        Assert.Equal("two", Body(results[2]));
        using var error = JsonDocument.Parse(results[1].Body);
        Assert.Equal(400, error.RootElement.GetProperty("code").GetInt32());
        Assert.Equal("InvalidRequestException", error.RootElement.GetProperty("type").GetString());
        Assert.Equal("'bad' is not a word this model reads", error.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task When_every_request_is_refused_inference_does_not_run()
    {
        var handler = new FailingHandler();
        var results = await ((IHandler)handler).HandleAsync(Batch("bad", "bad"), Context("all-refused"), CancellationToken.None);

        Assert.Equal([400, 400], results.Select(r => r.StatusCode));
        Assert.Equal(0, handler.InferenceCalls);
    }

    [Fact]
    public async Task Each_stage_and_the_whole_handler_are_timed_under_torchserve_names()
    {
        var modelName = "timed-" + Guid.NewGuid().ToString("N");
        var measurements = new List<(string Instrument, double Milliseconds)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == HandlerMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "ModelName" && (string?)tag.Value == modelName)
                {
                    lock (measurements)
                    {
                        measurements.Add((instrument.Name, value));
                    }
                }
            }
        });
        listener.Start();

        await ((IHandler)new SlowHandler()).HandleAsync(Batch("a", "b"), Context(modelName), CancellationToken.None);

        var byName = measurements.GroupBy(m => m.Instrument).ToDictionary(g => g.Key, g => g.Select(m => m.Milliseconds).ToArray());
        Assert.Equal(["HandlerTime", "ts_handler_inference", "ts_handler_postprocess", "ts_handler_preprocess"], byName.Keys.Order());
        Assert.All(byName.Values, values => Assert.Single(values));
        // The 30 ms sleep is inside inference, so inference and the whole handler include it; preprocess does not.
        Assert.InRange(byName["ts_handler_inference"][0], 25, 10_000);
        Assert.InRange(byName["HandlerTime"][0], byName["ts_handler_inference"][0], 10_000);
        Assert.InRange(byName["ts_handler_preprocess"][0], 0, byName["ts_handler_inference"][0]);
    }

    private static HandlerContext Context(string modelName) =>
        new(new ModelManifest { ModelName = modelName }, Path.GetTempPath());

    private static InferenceRequest[] Batch(params string[] bodies) =>
        bodies.Select(body => new InferenceRequest(Encoding.UTF8.GetBytes(body))).ToArray();

    private static string Body(InferenceResult result) => Encoding.UTF8.GetString(result.Body.Span);
}
