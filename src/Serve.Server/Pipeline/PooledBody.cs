using System;
using System.Buffers;
using System.Diagnostics;
using System.Threading;

namespace Serve.Server;

/// <summary>
/// A request body read into an array rented from a pool. An image body is a large-object array
/// (a 200 KB JPEG): a new one per request made the GC run a full collection several times a second.
/// The array goes back to the pool when its last holder releases it. The holders are the call, until
/// its answer is written, and the queued job, until the worker's run of its batch has ended. A holder
/// that cannot know the body is no longer read never releases it: a batch that timed out may still
/// be running, and an explanation runs on after its client left or its timeout passed. Such an
/// array is left to the GC, never returned while something may still read it.
/// </summary>
internal sealed class PooledBody
{
    /// <summary>Bodies larger than this get an array of their own: a pool keeps what it is given, and a few large bodies would stay in memory for good.</summary>
    public const int MaxPooledLength = 1024 * 1024;

    private readonly ArrayPool<byte> _pool;
    private readonly int _length;
    private byte[]? _array;
    private int _holders = 1;

    private PooledBody(ArrayPool<byte> pool, int length)
    {
        _pool = pool;
        _length = length;
        _array = pool.Rent(length);
    }

    /// <summary>A body of <paramref name="length"/> bytes held by its caller (one holder).</summary>
    public static PooledBody Rent(int length, ArrayPool<byte>? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxPooledLength);
        return new PooledBody(pool ?? ArrayPool<byte>.Shared, length);
    }

    /// <summary>The body's bytes.</summary>
    /// <exception cref="ObjectDisposedException">Every holder has released it.</exception>
    public Memory<byte> Memory => (Volatile.Read(ref _array) ?? throw new ObjectDisposedException(nameof(PooledBody))).AsMemory(0, _length);

    /// <summary>One more holder, who must <see cref="Release"/> it in turn.</summary>
    public void Retain()
    {
        var holders = Interlocked.Increment(ref _holders);
        Debug.Assert(holders > 1, "A body was retained after its array went back to the pool.");
    }

    /// <summary>A holder is done with it; the last one returns the array to the pool.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0 && Interlocked.Exchange(ref _array, null) is { } array)
        {
            _pool.Return(array);
        }
    }
}
