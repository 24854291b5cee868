using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// The explanation lane on a fake clock: explainers are made on demand, at most the bound at once,
/// reused; one that outlives the response timeout is abandoned; drain releases their models.
/// </summary>
public sealed class ExplanationLaneTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly ConcurrentQueue<Explainer> _made = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _entered = new(0);

    private sealed class HeldModel : IModel
    {
        public bool Disposed { get; private set; }

        public string Backend => "held";

        public bool IsThreadSafe => true;

        public void Dispose() => Disposed = true;
    }

    /// <summary>Explains once the test releases it, ignoring cancellation (a handler that does not watch its token).</summary>
    private sealed class Explainer(ExplanationLaneTests test) : IExplainingHandler
    {
        public HeldModel Model { get; } = new();

        public int Calls;

        public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
        {
            context.Model = Model;
            return ValueTask.CompletedTask;
        }

        public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the lane never predicts");

        public async ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            test._entered.Release();
            await test._release.Task;
            return batch.Select(_ => InferenceResult.Binary("why"u8.ToArray())).ToArray();
        }
    }

    private ExplanationLane Lane(int maxConcurrent) => new(token =>
    {
        var explainer = new Explainer(this);
        _made.Enqueue(explainer);
        var context = new HandlerContext(new ModelManifest { ModelName = "m" }, ".");
        _ = explainer.InitializeAsync(context, token); // completes at once
        return ValueTask.FromResult<(IHandler, HandlerContext)>((explainer, context));
    }, maxConcurrent, ResponseTimeout, _time, NullLogger.Instance);

    private static IReadOnlyList<InferenceRequest> Requests(int count) =>
        Enumerable.Range(0, count).Select(_ => new InferenceRequest("x"u8.ToArray())).ToArray();

    [Fact]
    public async Task Explanations_beyond_the_bound_are_refused_and_an_explainer_is_made_once_and_reused()
    {
        var lane = Lane(maxConcurrent: 2);

        var first = lane.ExplainAsync("m", Requests(2), CancellationToken.None);
        var second = lane.ExplainAsync("m", Requests(1), CancellationToken.None);
        Assert.True(await _entered.WaitAsync(Patience) && await _entered.WaitAsync(Patience));
        var third = await lane.ExplainAsync("m", Requests(1), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(InferenceErrorKind.Unavailable, Assert.Single(third).ErrorKind);
        Assert.Contains("Serve:MaxConcurrentExplanations", third[0].ErrorMessage);
        _release.SetResult();
        Assert.Equal(2, (await first.WaitAsync(Patience)).Count);
        Assert.Single(await second.WaitAsync(Patience));

        await lane.ExplainAsync("m", Requests(1), CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(2, _made.Count); // two at once, then one of them again
        Assert.Equal(3, _made.Sum(e => e.Calls));
    }

    [Fact]
    public async Task An_explanation_past_the_response_timeout_fails_and_its_explainer_is_released_when_its_call_ends()
    {
        var lane = Lane(maxConcurrent: 1);

        var stuck = lane.ExplainAsync("m", Requests(1), CancellationToken.None);
        Assert.True(await _entered.WaitAsync(Patience));
        // The lane starts its timeout just after the call begins: move the clock until it fires.
        await WaitUntil(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            return stuck.IsCompleted;
        });
        var timedOut = Assert.Single(await stuck.WaitAsync(Patience));

        Assert.Equal(InferenceErrorKind.Timeout, timedOut.ErrorKind);
        Assert.Contains("responseTimeout", timedOut.ErrorMessage);
        Assert.True(_made.TryPeek(out var abandoned));
        Assert.False(abandoned.Model.Disposed); // its call still runs and holds the model

        // The next explanation gets an explainer of its own; the abandoned one is released once its call ends.
        var next = lane.ExplainAsync("m", Requests(1), CancellationToken.None);
        Assert.True(await _entered.WaitAsync(Patience));
        _release.SetResult();
        Assert.Single(await next.WaitAsync(Patience));
        Assert.Equal(2, _made.Count);
        await WaitUntil(() => abandoned.Model.Disposed);
    }

    [Fact]
    public async Task Drain_releases_the_explainers_models_and_later_explanations_are_refused()
    {
        var lane = Lane(maxConcurrent: 1);
        _release.SetResult();
        await lane.ExplainAsync("m", Requests(1), CancellationToken.None).WaitAsync(Patience);

        await lane.DrainAsync(CancellationToken.None).WaitAsync(Patience);
        var after = Assert.Single(await lane.ExplainAsync("m", Requests(1), CancellationToken.None).WaitAsync(Patience));

        Assert.True(Assert.Single(_made).Model.Disposed);
        Assert.Equal((InferenceErrorKind.Unavailable, "Model 'm' is shutting down."), (after.ErrorKind, after.ErrorMessage));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(20))
        {
            Assert.True(waited < Patience, "the condition did not hold within 10 s");
            await Task.Delay(20);
        }
    }
}
