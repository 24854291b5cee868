using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>The C heap trim that scaling down relies on to return freed native memory, and the top pad the TorchSharp backend sets.</summary>
public class NativeHeapTests
{
    [Fact]
    public void Trimming_reaches_glibc_on_linux()
    {
        Assert.Equal(Glibc, NativeHeap.Trim());
    }

    [Fact]
    public void Keeping_freed_memory_at_the_arena_top_reaches_glibc_on_linux_and_refuses_a_negative_size()
    {
        Assert.Equal(Glibc, NativeHeap.KeepFreeTop(64 << 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeHeap.KeepFreeTop(-1));
    }

    private static bool Glibc => OperatingSystem.IsLinux() && !File.Exists("/etc/alpine-release");
}
