using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace Serve.Onnx.Tests;

/// <summary>The reused host memory of bound runs: blocks come back when disposed, or when an undisposed lease is collected.</summary>
public class HostMemoryPoolTests
{
    [Fact]
    public void A_returned_block_is_rented_again_when_it_fits_and_is_at_most_twice_the_size()
    {
        using var pool = new HostMemoryPool(pinned: null);
        var first = pool.Rent(1000);
        var pointer = first.Pointer;
        first.Return();

        var again = pool.Rent(900);
        var small = pool.Rent(100); // the 1000-byte block is taken; it would also be more than twice 100

        Assert.Equal(pointer, again.Pointer);
        Assert.NotEqual(pointer, small.Pointer);
        Assert.Equal(2, pool.Allocations);
        again.Return();
        small.Return();
        var tiny = pool.Rent(100);
        Assert.NotEqual(pointer, tiny.Pointer); // the 100-byte block, not the 1000-byte one
        Assert.Equal(2, pool.Allocations);
        tiny.Return();
    }

    [Fact]
    public void A_lease_never_disposed_gives_its_block_back_when_collected()
    {
        using var pool = new HostMemoryPool(pinned: null);
        var pointer = RentAndDrop(pool);

        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(pointer, pool.Rent(4096).Pointer);
        Assert.Equal(1, pool.Allocations);
    }

    [Fact]
    public void Blocks_out_when_the_pool_is_disposed_are_freed_as_they_come_back()
    {
        var pool = new HostMemoryPool(pinned: null);
        var lease = pool.Rent(64).Lease();
        pool.Dispose();

        lease.Dispose(); // frees it: nothing is kept by a disposed pool
        lease.Dispose(); // a second dispose returns nothing twice

        Assert.Throws<ObjectDisposedException>(() => pool.Rent(64));
    }

    [Fact]
    public async Task Blocks_idle_longer_than_their_lifetime_are_freed_at_the_next_rent_so_a_busy_moment_is_not_kept()
    {
        using var pool = new HostMemoryPool(pinned: null, idleLifetime: TimeSpan.FromMilliseconds(200));
        // A busy moment: six runs at once.
        var busy = new HostBlock[6];
        for (var i = 0; i < busy.Length; i++)
        {
            busy[i] = pool.Rent(1 << 16);
        }
        foreach (var block in busy)
        {
            block.Return();
        }
        Assert.Equal(6, pool.IdleBlocks);

        // Then one run at a time, for longer than the lifetime: it keeps reusing one block.
        var warm = busy[^1].Pointer;
        for (var i = 0; i < 8; i++)
        {
            var block = pool.Rent(1 << 16);
            Assert.Equal(warm, block.Pointer);
            block.Return();
            await Task.Delay(50);
        }

        Assert.Equal(1, pool.IdleBlocks);
        Assert.Equal(6, pool.Allocations);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IntPtr RentAndDrop(HostMemoryPool pool)
    {
        var block = pool.Rent(4096);
        _ = block.Lease();
        return block.Pointer;
    }
}

/// <summary>Page-locked memory for a CUDA device, asked of a session that has no CUDA provider (all this machine has).</summary>
public class PinnedMemoryFallbackTests
{
    [Fact]
    public void A_session_without_the_cuda_provider_gives_plain_memory_and_says_why()
    {
        var logger = new ListLogger();
        var context = Fixtures.Context("tiny.onnx", logger: logger);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(context.SerializedFilePath!);

        var pinned = OnnxModelLoader.PinnedAllocator(session, context);

        Assert.Null(pinned);
        var warning = Assert.Single(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.StartsWith("Model tiny: the CUDA provider gives no page-locked host memory, so bound buffers are plain host memory: ", warning.Message, StringComparison.Ordinal);
        Assert.True(warning.Message.Length > 110, "ONNX Runtime's reason follows: " + warning.Message);
    }
}
