using System;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using Serve.Tests.Handlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>How a generated handler reports a failing stage, a refused request and cancellation.</summary>
public class ErrorTests
{
    public static TheoryData<string, HandlerStage, string> FailingStages => new()
    {
        { "throw:preprocess", HandlerStage.Preprocess, "preprocess" },
        { "throw:inference", HandlerStage.Inference, "inference" },
        { "throw:postprocess", HandlerStage.Postprocess, "postprocess" },
    };

    [Theory]
    [MemberData(nameof(FailingStages))]
    public async Task An_exception_in_a_stage_names_the_stage_and_the_handler_and_keeps_the_cause(string body, HandlerStage stage, string stageName)
    {
        IHandler handler = new ThrowingHandler();

        var error = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.HandleAsync(Batch("fine", body), Context(), CancellationToken.None));

        Assert.Equal(stage, error.Stage);
        Assert.Equal("errors-stages", error.HandlerName);
        Assert.Contains($"The {stageName} stage of handler 'errors-stages' failed", error.Message);
        Assert.Contains(stageName + " broke", error.Message);
        var expectedCause = stage switch
        {
            HandlerStage.Preprocess => ThrowingHandler.PreprocessFailure,
            HandlerStage.Inference => ThrowingHandler.InferenceFailure,
            _ => ThrowingHandler.PostprocessFailure,
        };
        Assert.Same(expectedCause, error.InnerException);
        Assert.False(error.IsInvalidRequest);
    }

    [Fact]
    public async Task An_exception_in_initialize_names_the_initialize_stage()
    {
        IHandler handler = new ThrowingHandler();

        var error = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.InitializeAsync(Context("throw-initialize"), CancellationToken.None));

        Assert.Equal(HandlerStage.Initialize, error.Stage);
        Assert.Contains("The initialize stage of handler 'errors-stages' failed: initialize broke", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task A_request_refused_by_a_per_request_preprocess_fails_alone_with_400()
    {
        var handler = new ThrowingHandler();

        var results = await ((IHandler)handler).HandleAsync(Batch("a", "reject me", "b"), Context(), CancellationToken.None);

        Assert.Equal([null, InferenceErrorKind.InvalidRequest, null], results.Select(result => result.ErrorKind));
        Assert.Equal("A", Text(results[0]));
        Assert.Equal("B", Text(results[2]));
        Assert.Equal(["a", "b"], Assert.Single(handler.InferenceInputs));

        Assert.False(results[1].IsSuccess);
        Assert.Equal("'reject me' is not accepted", results[1].ErrorMessage);
    }

    [Fact]
    public async Task Refused_requests_keep_their_place_between_accepted_ones()
    {
        var results = await ((IHandler)new ThrowingHandler()).HandleAsync(
            Batch("reject 0", "one", "reject 2", "reject 3", "four", "reject 5"), Context(), CancellationToken.None);

        Assert.Equal([false, true, false, false, true, false], results.Select(result => result.IsSuccess));
        Assert.Equal("ONE", Text(results[1]));
        Assert.Equal("FOUR", Text(results[4]));
        Assert.Equal("'reject 3' is not accepted", results[3].ErrorMessage);
    }

    [Fact]
    public async Task When_every_request_is_refused_all_get_400_and_inference_does_not_run()
    {
        var handler = new ThrowingHandler();

        var results = await ((IHandler)handler).HandleAsync(Batch("reject 1", "reject 2"), Context(), CancellationToken.None);

        Assert.All(results, result => Assert.Equal(InferenceErrorKind.InvalidRequest, result.ErrorKind));
        Assert.Equal("'reject 1' is not accepted", results[0].ErrorMessage);
        Assert.Equal("'reject 2' is not accepted", results[1].ErrorMessage);
        Assert.Empty(handler.InferenceInputs);
    }

    [Fact]
    public async Task An_invalid_request_exception_outside_a_per_request_preprocess_fails_the_stage_as_an_invalid_request()
    {
        IHandler handler = new ThrowingHandler();

        var error = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.HandleAsync(Batch("invalid:inference"), Context(), CancellationToken.None));

        Assert.Equal(HandlerStage.Inference, error.Stage);
        Assert.True(error.IsInvalidRequest);
        Assert.IsType<InvalidRequestException>(error.InnerException);
    }

    [Fact]
    public async Task An_operation_canceled_exception_from_a_stage_is_not_wrapped()
    {
        IHandler handler = new ThrowingHandler();

        var error = await Assert.ThrowsAsync<OperationCanceledException>(async () =>
            await handler.HandleAsync(Batch("cancel"), Context(), CancellationToken.None));

        Assert.Equal("cancelled by the handler", error.Message);
    }

    [Fact]
    public async Task Cancelling_the_token_passed_to_HandleAsync_surfaces_as_cancellation()
    {
        IHandler handler = new ThrowingHandler();
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await handler.HandleAsync(Batch("ok", "cancel:preprocess"), Context(), cancellation.Token));

        Assert.Equal(cancellation.Token, error.CancellationToken);
    }
}
