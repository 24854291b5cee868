using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Serve.Runtime;
using Serve.Server;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// Explanations run in a lane of their own (issue 23 item 6): before, an explanation held the
/// model's worker, and a prediction sent meanwhile waited for it (15 s behind 64 instances).
/// </summary>
public sealed class ExplainLaneTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _explaining = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient _client = new();
    private EchoServer _server = null!;
    private int _explainers;

    /// <summary>Predicts at once; an explanation says it started, then waits until the test releases it.</summary>
    private sealed class HeldExplanationHandler(ExplainLaneTests test) : IExplainingHandler
    {
        public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<InferenceResult>>(batch.Select(_ => InferenceResult.Binary("predicted"u8.ToArray())).ToArray());

        public async ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref test._explainers);
            test._explaining.TrySetResult();
            await test._release.Task.WaitAsync(cancellationToken);
            return batch.Select(_ => InferenceResult.Binary("explained"u8.ToArray())).ToArray();
        }
    }

    // One worker: with explanations on the workers, the prediction below would wait for the explanation.
    public async Task InitializeAsync() =>
        _server = await EchoServer.StartAsync("default_workers_per_model=1", handler: () => new HeldExplanationHandler(this));

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private Task<HttpResponseMessage> Post(string path) =>
        _client.PostAsync(new Uri(_server.Config.InferenceAddress, path), new StringContent("1", Encoding.UTF8, "text/plain"));

    [Fact]
    public async Task A_prediction_sent_while_an_explanation_runs_is_answered_before_the_explanation_finishes()
    {
        Assert.True(_server.Services.GetRequiredService<ModelManager>().TryGet("sized", out var model));
        Assert.Equal(1, model.WorkerCount);

        var explanation = Post("/explanations/sized");
        await _explaining.Task.WaitAsync(Patience);
        using var prediction = await Post("/predictions/sized").WaitAsync(Patience);
        using var another = await Post("/explanations/sized").WaitAsync(Patience);

        Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
        Assert.Equal("predicted", await prediction.Content.ReadAsStringAsync());
        Assert.False(explanation.IsCompleted, "the explanation was released only after the prediction came back");
        // The lane's bound (Serve:MaxConcurrentExplanations, 1): a second explanation is refused, not queued.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, another.StatusCode);
        Assert.Contains("Serve:MaxConcurrentExplanations", await another.Content.ReadAsStringAsync());

        _release.SetResult();
        using var explained = await explanation.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, explained.StatusCode);
        Assert.Equal("explained", await explained.Content.ReadAsStringAsync());
        Assert.Equal(1, _explainers);

        // The lane's explainer serves the next explanation; the prediction worker never explained.
        using var again = await Post("/explanations/sized").WaitAsync(Patience);
        Assert.Equal("explained", await again.Content.ReadAsStringAsync());
    }
}
