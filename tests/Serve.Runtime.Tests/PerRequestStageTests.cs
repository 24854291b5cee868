using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using Serve.Tests.Handlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>
/// The generated per-request preprocess the server runs as requests arrive: on its own, timed,
/// and carried to the batched stages without running twice.
/// </summary>
public class PerRequestStageTests
{
    [Fact]
    public void Only_a_preprocess_of_one_request_runs_per_request()
    {
        Assert.True(Assert.IsAssignableFrom<IRequestPreprocessingHandler>(new SyncStagesHandler()).PreprocessesEachRequest);
        Assert.True(Assert.IsAssignableFrom<IRequestPreprocessingHandler>(new ValueTaskStagesHandler()).PreprocessesEachRequest);
        Assert.IsNotAssignableFrom<IRequestPreprocessingHandler>(new TaskStagesHandler());
    }

    [Fact]
    public async Task A_preprocessed_request_skips_preprocess_in_the_batch()
    {
        var handler = new SyncStagesHandler();
        IRequestPreprocessingHandler pipeline = handler;
        var context = Context();
        var request = Batch("a")[0];

        var preprocessed = await pipeline.PreprocessAsync(request, context, CancellationToken.None);
        var results = await pipeline.HandleAsync([preprocessed, Batch("b")[0]], context, CancellationToken.None);

        Assert.True(preprocessed.TryGetPreprocessed(out string input));
        Assert.Equal("a", input);
        Assert.Equal(["preprocess a", "preprocess b", "inference a,b", "postprocess A,B"], handler.Calls);
        Assert.Equal(["<A>", "<B>"], results.Select(Text));
    }

    [Fact]
    public void A_preprocessed_input_is_read_back_as_its_own_type_only()
    {
        var request = new InferenceRequest(Encoding.UTF8.GetBytes("7"));
        var preprocessed = request.WithPreprocessed(7);

        Assert.False(request.IsPreprocessed);
        Assert.False(request.TryGetPreprocessed(out int _));
        Assert.True(preprocessed.IsPreprocessed);
        Assert.True(preprocessed.TryGetPreprocessed(out int seven));
        Assert.Equal(7, seven);
        var wrong = Assert.Throws<System.InvalidOperationException>(() => preprocessed.TryGetPreprocessed(out string _));
        Assert.Equal("This request carries a preprocessed System.Int32, not the System.String this handler's preprocess returns.", wrong.Message);
    }

    [Fact]
    public async Task An_awaitable_preprocess_runs_per_request_with_context_and_token()
    {
        var handler = new ValueTaskStagesHandler();
        var context = Context();
        using var cancellation = new CancellationTokenSource();

        var preprocessed = await ((IRequestPreprocessingHandler)handler).PreprocessAsync(Batch("x")[0], context, cancellation.Token);

        Assert.True(preprocessed.TryGetPreprocessed(out string input));
        Assert.Equal("x", input);
        var (stage, seenContext, token) = Assert.Single(handler.Seen);
        Assert.Equal("preprocess", stage);
        Assert.Same(context, seenContext);
        Assert.Equal(cancellation.Token, token);
    }

    [Fact]
    public async Task A_refusal_or_failure_of_one_request_names_the_stage()
    {
        IRequestPreprocessingHandler handler = new ThrowingHandler();

        var refused = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.PreprocessAsync(new InferenceRequest(Encoding.UTF8.GetBytes("reject me")), Context(), CancellationToken.None));
        var failed = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.PreprocessAsync(new InferenceRequest(Encoding.UTF8.GetBytes("throw:preprocess")), Context(), CancellationToken.None));

        Assert.True(refused.IsInvalidRequest);
        Assert.Equal("'reject me' is not accepted", refused.InnerException!.Message);
        Assert.False(failed.IsInvalidRequest);
        Assert.Equal(HandlerStage.Preprocess, failed.Stage);
        Assert.Equal("The preprocess stage of handler 'errors-stages' failed: preprocess broke", failed.Message);
    }
}
