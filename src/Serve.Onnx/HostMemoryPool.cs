using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.ML.OnnxRuntime;

namespace Serve.Onnx;

/// <summary>
/// Reused blocks of host memory that never move, for the tensors a bound run reads and writes
/// (<see cref="BoundRunner"/>): a batch rents one block per input it stacks and per output it
/// knows the shape of, and gives each back when the tensor over it is disposed, so batches of a
/// shape seen before allocate nothing. On CUDA the blocks are page-locked (ONNX Runtime's
/// CUDA_PINNED allocator), so the provider copies them to and from the device by DMA, without
/// staging; on the CPU they are plain aligned native memory.
/// </summary>
/// <remarks>
/// Thread-safe: each block is rented by one caller at a time. A rent takes the most recently
/// returned of the smallest idle blocks that fit and are at most twice the size asked for, else
/// allocates. So the blocks the runs in flight keep using stay warm, and the rest (those of a
/// busier moment: more workers before a scale-down, a batch size no longer seen) sit unused and
/// are freed once idle for <see cref="IdleLifetime"/>, at the next rent or return: the pool
/// does not keep the peak of its busiest moment, as ONNX Runtime's arena would. At most
/// <see cref="MaxIdleBlocks"/> are idle (two per core: a run's batch and its output, for one
/// worker per core), more are freed when returned. Native bytes are reported to the GC
/// (<see cref="GC.AddMemoryPressure"/>) so that blocks of undisposed tensors, which come back
/// through a finalizer, are collected as promptly as managed arrays of that size would be.
/// </remarks>
internal sealed class HostMemoryPool : IDisposable
{
    /// <summary>How long a block may sit idle before it is freed.</summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(2);

    /// <summary>The most idle blocks kept: two per core, at least 8, at most 256.</summary>
    public static int MaxIdleBlocks { get; } = Math.Clamp(2 * Environment.ProcessorCount, 8, 256);

    private const int Alignment = 64;

    private readonly List<HostBlock> _idle = [];
    private readonly OrtAllocator? _pinned;
    private readonly long _idleLifetimeMs;
    private int _outstanding;
    private bool _disposed;

    /// <param name="pinned">ONNX Runtime's CUDA_PINNED allocator of the session, or null for plain native memory.</param>
    /// <param name="idleLifetime">How long a block may sit idle (<see cref="IdleLifetime"/> unless a test says).</param>
    public HostMemoryPool(OrtAllocator? pinned, TimeSpan? idleLifetime = null)
    {
        _pinned = pinned;
        _idleLifetimeMs = (long)(idleLifetime ?? IdleLifetime).TotalMilliseconds;
        MemoryInfo = pinned?.Info ?? OrtMemoryInfo.DefaultInstance;
    }

    /// <summary>What ONNX Runtime is told about the blocks' memory (CPU, or CUDA-pinned host memory).</summary>
    public OrtMemoryInfo MemoryInfo { get; }

    /// <summary>True when the blocks are page-locked for a CUDA device.</summary>
    public bool IsPageLocked => _pinned is not null;

    /// <summary>Blocks allocated so far over the pool's life (a test and benchmark figure: reuse keeps it flat).</summary>
    public long Allocations => Interlocked.Read(ref _allocations);

    private long _allocations;

    /// <summary>Blocks idle now (a test figure).</summary>
    public int IdleBlocks
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>A block of at least <paramref name="bytes"/>; give it back with <see cref="HostBlock.Return"/>.</summary>
    public HostBlock Rent(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        HostBlock? block = null;
        List<HostBlock>? expired;
        lock (_idle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var best = -1;
            // From the most recently returned: among blocks of one size, the warm one.
            for (var i = _idle.Count - 1; i >= 0; i--)
            {
                var size = _idle[i].Bytes;
                if (size >= bytes && size <= Math.Max(2 * bytes, Alignment) && (best < 0 || size < _idle[best].Bytes))
                {
                    best = i;
                }
            }
            _outstanding++;
            if (best >= 0)
            {
                block = _idle[best];
                _idle.RemoveAt(best);
            }
            expired = TakeExpired();
        }
        FreeAll(expired);
        if (block is not null)
        {
            return block;
        }
        try
        {
            return Allocate(Math.Max(bytes, Alignment));
        }
        catch
        {
            lock (_idle)
            {
                _outstanding--;
            }
            throw;
        }
    }

    /// <summary>Takes a block back: kept for the next rent, or freed when enough are idle or the pool is disposed.</summary>
    /// <param name="block">A block this pool rented out.</param>
    /// <param name="fromFinalizer">True when a finalizer returns it: the pool's allocator may already be finalized, so a CUDA-pinned block of a disposed pool is then left alone.</param>
    internal void Return(HostBlock block, bool fromFinalizer)
    {
        List<HostBlock>? expired;
        var kept = false;
        lock (_idle)
        {
            _outstanding--;
            if (!_disposed && _idle.Count < MaxIdleBlocks)
            {
                block.ReturnedAt = Environment.TickCount64;
                _idle.Add(block);
                kept = true;
            }
            expired = _disposed ? null : TakeExpired();
        }
        FreeAll(expired);
        if (kept)
        {
            return;
        }
        if (!(fromFinalizer && _pinned is not null))
        {
            Free(block);
        }
        ReleaseAllocatorWhenDone();
    }

    /// <summary>The idle blocks unused for longer than the idle lifetime, taken out of the list; under the lock.</summary>
    private List<HostBlock>? TakeExpired()
    {
        var now = Environment.TickCount64;
        List<HostBlock>? expired = null;
        // Oldest first: the list is in the order blocks came back.
        while (_idle.Count > 0 && now - _idle[0].ReturnedAt > _idleLifetimeMs)
        {
            (expired ??= []).Add(_idle[0]);
            _idle.RemoveAt(0);
        }
        return expired;
    }

    private void FreeAll(List<HostBlock>? blocks)
    {
        if (blocks is null)
        {
            return;
        }
        foreach (var block in blocks)
        {
            Free(block);
        }
    }

    private HostBlock Allocate(long bytes)
    {
        IntPtr pointer;
        HostBlock block;
        if (_pinned is not null)
        {
            // A byte tensor the allocator allocated: disposing it frees the memory through the same
            // allocator, which this pool keeps until every block is back (no finalizer may free it).
            var allocation = OrtValue.CreateAllocatedTensorValue(_pinned, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.UInt8, [bytes]);
            GC.SuppressFinalize(allocation);
            unsafe
            {
                pointer = (IntPtr)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(allocation.GetTensorMutableRawData()));
            }
            block = new HostBlock(this, pointer, bytes, allocation);
        }
        else
        {
            unsafe
            {
                pointer = (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
            }
            block = new HostBlock(this, pointer, bytes, null);
        }
        GC.AddMemoryPressure(bytes);
        Interlocked.Increment(ref _allocations);
        return block;
    }

    private void Free(HostBlock block)
    {
        if (block.Allocation is { } allocation)
        {
            allocation.Dispose();
        }
        else
        {
            unsafe
            {
                NativeMemory.AlignedFree((void*)block.Pointer);
            }
        }
        GC.RemoveMemoryPressure(block.Bytes);
    }

    /// <summary>Frees the idle blocks; blocks still rented are freed as they come back.</summary>
    public void Dispose()
    {
        HostBlock[] idle;
        lock (_idle)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var block in idle)
        {
            Free(block);
        }
        ReleaseAllocatorWhenDone();
    }

    // The allocator outlives every block it allocated.
    private void ReleaseAllocatorWhenDone()
    {
        bool release;
        lock (_idle)
        {
            release = _disposed && _outstanding == 0;
        }
        if (release)
        {
            _pinned?.Dispose();
        }
    }
}

/// <summary>One block of a <see cref="HostMemoryPool"/>: native memory that does not move.</summary>
internal sealed class HostBlock
{
    private readonly HostMemoryPool _pool;

    internal HostBlock(HostMemoryPool pool, IntPtr pointer, long bytes, OrtValue? allocation)
    {
        _pool = pool;
        Pointer = pointer;
        Bytes = bytes;
        Allocation = allocation;
    }

    public IntPtr Pointer { get; }

    public long Bytes { get; }

    internal OrtValue? Allocation { get; }

    /// <summary>When it last came back to the pool (<see cref="Environment.TickCount64"/>).</summary>
    internal long ReturnedAt { get; set; }

    public HostMemoryPool Pool => _pool;

    /// <summary>Gives the block back to its pool; use it no more.</summary>
    public void Return() => _pool.Return(this, fromFinalizer: false);

    /// <summary>
    /// Something that gives this block back once, when disposed or, if it never is, when the
    /// GC finalizes it (a tensor over the block that its reader did not dispose).
    /// </summary>
    public IDisposable Lease() => new BlockLease(this);

    private sealed class BlockLease(HostBlock block) : IDisposable
    {
        private int _returned;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                GC.SuppressFinalize(this);
                block._pool.Return(block, fromFinalizer: false);
            }
        }

        ~BlockLease()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                block._pool.Return(block, fromFinalizer: true);
            }
        }
    }
}
