using System;
using System.Buffers;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// A pooled request body goes back to its pool only when nothing can read it any more: not while
/// its batch runs for a client that left, never from a batch that timed out, and at once from a
/// request that was refused, abandoned or failed unrun. The test holds each body as the call would.
/// </summary>
public sealed class PooledBodyTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeHandlers _handlers = new();
    private readonly CountingPool _pool = new();

    /// <summary>Counts what it lends and gets back; each rent is a new array.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        public int Returned;

        public override byte[] Rent(int minimumLength) => new byte[minimumLength];

        public override void Return(byte[] array, bool clearArray = false) => Interlocked.Increment(ref Returned);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _handlers.StopAsync();

    private Task<ServedModel> StartAsync(ModelConfig config) => _handlers.StartAsync(config, _time);

    private PooledBody Body(string text)
    {
        var body = PooledBody.Rent(Encoding.UTF8.GetByteCount(text), _pool);
        Encoding.UTF8.GetBytes(text, body.Memory.Span);
        return body;
    }

    private static Task<InferenceResult> Send(ServedModel model, PooledBody body, CancellationToken cancellationToken = default) =>
        model.InferAsync(new InferenceRequest(body.Memory), explain: false, body, cancellationToken);

    private static Task<InferenceResult> Send(ServedModel model, string text) =>
        model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes(text)), explain: false, CancellationToken.None);

    /// <summary>Waits (in real time, bounded) for <paramref name="count"/> arrays back: a worker releases just after it completes the batch.</summary>
    private async Task ReturnedAsync(int count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (Volatile.Read(ref _pool.Returned) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(count, Volatile.Read(ref _pool.Returned));
    }

    [Fact]
    public void The_array_goes_back_once_when_its_last_holder_releases()
    {
        var body = Body("abc");
        body.Retain();

        body.Release();
        Assert.Equal(0, _pool.Returned);
        Assert.Equal("abc", Encoding.UTF8.GetString(body.Memory.Span));
        body.Release();
        body.Release(); // one release too many: never a second return, which would lend the array twice
        Assert.Equal(1, _pool.Returned);
        Assert.Throws<ObjectDisposedException>(() => body.Memory);
    }

    [Fact]
    public void A_body_larger_than_the_pooled_limit_gets_no_pooled_array()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PooledBody.Rent(PooledBody.MaxPooledLength + 1, _pool));
        Assert.Throws<ArgumentOutOfRangeException>(() => PooledBody.Rent(-1, _pool));
    }

    [Fact]
    public async Task An_answered_request_leaves_its_body_to_the_call_alone()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });
        var body = Body("hello");

        Assert.True((await Send(model, body).WaitAsync(Patience)).IsSuccess);
        body.Release(); // the call has written its answer

        await ReturnedAsync(1);
    }

    [Fact]
    public async Task A_body_stays_held_while_its_batch_runs_on_after_the_client_left()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });
        var body = Body("wait");
        using var leaving = new CancellationTokenSource();

        var sent = Send(model, body, leaving.Token);
        await _handlers.WaitForBatchesAsync();
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sent.WaitAsync(Patience));
        body.Release(); // the call is over; the worker still runs its batch

        Assert.Equal(0, _pool.Returned);
        _handlers.Release();
        await ReturnedAsync(1);
    }

    [Fact]
    public async Task A_body_whose_client_left_while_it_was_queued_goes_back_at_once()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });
        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        var body = Body("left");
        using var leaving = new CancellationTokenSource();

        var sent = Send(model, body, leaving.Token);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sent.WaitAsync(Patience));
        body.Release();

        Assert.Equal(1, _pool.Returned); // no worker will take it: nothing waits for a batch
        _handlers.Release();
        Assert.True((await running.WaitAsync(Patience)).IsSuccess);
    }

    [Fact]
    public async Task A_body_in_a_batch_that_timed_out_is_not_returned_while_the_batch_may_still_read_it()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, ResponseTimeout = 5 });
        var body = Body("stuck");

        var sent = Send(model, body);
        await _handlers.WaitForBatchesAsync();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(InferenceErrorKind.Timeout, (await sent.WaitAsync(Patience)).ErrorKind);
        body.Release();

        Assert.Equal("NEXT", Encoding.UTF8.GetString((await Send(model, "next").WaitAsync(Patience)).Body.Span)); // served by the replacement worker
        Assert.Equal(0, _pool.Returned);
    }

    [Fact]
    public async Task Bodies_of_requests_refused_or_failed_unrun_go_back_with_their_answers()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 3 });
        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        var queuedBodies = Enumerable.Range(0, 3).Select(i => Body("queued-" + i)).ToArray();
        var queued = queuedBodies.Select(body => Send(model, body)).ToArray();
        var refusedBody = Body("one too many");

        Assert.Equal(InferenceErrorKind.Unavailable, (await Send(model, refusedBody).WaitAsync(Patience)).ErrorKind);
        refusedBody.Release();
        Assert.Equal(1, _pool.Returned);

        var scaling = model.ScaleAsync(0, 0, CancellationToken.None); // what is queued when the last worker leaves fails unrun
        _handlers.Release();
        await scaling.WaitAsync(Patience);
        Assert.All(await Task.WhenAll(queued).WaitAsync(Patience), result => Assert.Equal(InferenceErrorKind.Unavailable, result.ErrorKind));
        foreach (var body in queuedBodies)
        {
            body.Release();
        }

        await ReturnedAsync(4);
        Assert.True((await running.WaitAsync(Patience)).IsSuccess);
    }
}
