using System;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// Returns to the operating system what retired workers held. After a scale-down the process
/// keeps what the busy period grew: the GC keeps free regions committed in proportion to the
/// allocation rate it saw (measured: 5 to 166 MB after 1 -> 64 -> 1 workers, varying with when
/// its last collection fell), and glibc keeps freed C heap pages in its arenas. An aggressive
/// collection decommits the free regions and malloc_trim returns the C heap's free pages, so
/// resident memory after every scale-down is what the remaining workers use (benchmarks/scale-memory.sh).
/// It blocks the process for one full collection, so it runs only when workers actually retired.
/// </summary>
internal static class RetiredMemory
{
    public static void Return()
    {
        // A finalizer may free native memory (and then its object) only after a first collection.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
    }
}
