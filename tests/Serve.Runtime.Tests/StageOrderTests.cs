using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using Serve.Tests.Handlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>The generated HandleAsync/ExplainAsync call the attributed stages in order, with the right arguments.</summary>
public class StageOrderTests
{
    [Fact]
    public async Task Sync_stages_run_in_order_with_per_request_preprocess_in_batch_order()
    {
        var handler = new SyncStagesHandler();
        IHandler pipeline = handler;
        var context = Context();

        await pipeline.InitializeAsync(context, CancellationToken.None);
        var results = await pipeline.HandleAsync(Batch("a", "b", "c"), context, CancellationToken.None);

        Assert.Equal(
            ["initialize", "preprocess a", "preprocess b", "preprocess c", "inference a,b,c", "postprocess A,B,C"],
            handler.Calls);
        Assert.Equal(["<A>", "<B>", "<C>"], results.Select(Text));
        Assert.All(results, result => Assert.True(result.IsSuccess));
    }

    [Fact]
    public async Task Task_stages_run_in_order_and_get_the_context_and_token_of_the_call()
    {
        var handler = new TaskStagesHandler();
        IHandler pipeline = handler;
        var context = Context();
        using var cancellation = new CancellationTokenSource();

        await pipeline.InitializeAsync(context, cancellation.Token);
        var results = await pipeline.HandleAsync(Batch("x", "yy"), context, cancellation.Token);

        Assert.Equal(["initialize", "preprocess 2", "inference x,yy", "postprocess 1,2"], handler.Calls);
        Assert.Equal(["length 1", "length 2"], results.Select(Text));
        Assert.Equal(["initialize", "preprocess", "inference", "postprocess"], handler.Seen.Select(seen => seen.Stage));
        Assert.All(handler.Seen, seen =>
        {
            Assert.Same(context, seen.Context);
            Assert.Equal(cancellation.Token, seen.Token);
        });
    }

    [Fact]
    public async Task ValueTask_stages_run_in_order_and_get_the_context_and_token_of_the_call()
    {
        var handler = new ValueTaskStagesHandler();
        IHandler pipeline = handler;
        var context = Context();
        using var cancellation = new CancellationTokenSource();

        await pipeline.InitializeAsync(context, cancellation.Token);
        var results = await pipeline.HandleAsync(Batch("1", "2", "3"), context, cancellation.Token);

        Assert.Equal(
            ["initialize", "preprocess 1", "preprocess 2", "preprocess 3", "inference 1,2,3", "postprocess 3,2,1"],
            handler.Calls);
        Assert.Equal(["3", "2", "1"], results.Select(Text));
        Assert.Equal(
            ["initialize", "preprocess", "preprocess", "preprocess", "inference", "postprocess"],
            handler.Seen.Select(seen => seen.Stage));
        Assert.All(handler.Seen, seen =>
        {
            Assert.Same(context, seen.Context);
            Assert.Equal(cancellation.Token, seen.Token);
        });
    }

    [Fact]
    public async Task Static_stages_run_in_order()
    {
        IHandler pipeline = new StaticStagesHandler();
        var context = Context();

        await pipeline.InitializeAsync(context, CancellationToken.None);
        var results = await pipeline.HandleAsync(Batch("p", "q"), context, CancellationToken.None);

        Assert.Equal(
            ["initialize", "preprocess p", "preprocess q", "inference p,q", "postprocess p!,q!"],
            StaticStagesHandler.CallsFor(context));
        Assert.Equal(["p!", "q!"], results.Select(Text));
    }

    [Fact]
    public async Task Each_call_handles_its_own_batch()
    {
        var handler = new SyncStagesHandler();
        IHandler pipeline = handler;
        var context = Context();

        var first = await pipeline.HandleAsync(Batch("one"), context, CancellationToken.None);
        var second = await pipeline.HandleAsync(Batch("two", "three"), context, CancellationToken.None);

        Assert.Equal(["<ONE>"], first.Select(Text));
        Assert.Equal(["<TWO>", "<THREE>"], second.Select(Text));
        Assert.Equal(2, handler.Calls.Count(call => call.StartsWith("inference ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_handler_with_explain_can_explain_and_runs_preprocess_then_explain()
    {
        var pipeline = Assert.IsAssignableFrom<IExplainingHandler>(new StaticStagesHandler());
        var context = Context();
        using var cancellation = new CancellationTokenSource();

        var results = await pipeline.ExplainAsync(Batch("u", "v"), context, cancellation.Token);

        // Explaining neither runs inference nor postprocess.
        Assert.Equal(["preprocess u", "preprocess v", "explain u,v"], StaticStagesHandler.CallsFor(context));
        Assert.Equal(["because u", "because v"], results.Select(Text));
        Assert.Equal(cancellation.Token, StaticStagesHandler.ExplainTokens[context.ModelName]);
    }

    [Fact]
    public void A_handler_without_explain_is_no_explaining_handler()
    {
        Assert.IsNotAssignableFrom<IExplainingHandler>(new SyncStagesHandler());
    }

    [Fact]
    public async Task Without_an_initialize_stage_a_model_without_a_serialized_file_loads_nothing()
    {
        IHandler pipeline = new DefaultInitializeHandler();
        var context = Context();

        await pipeline.InitializeAsync(context, CancellationToken.None);
        var results = await pipeline.HandleAsync(Batch("as is"), context, CancellationToken.None);

        Assert.Null(context.Model);
        Assert.Equal(["as is"], results.Select(Text));
    }
}
