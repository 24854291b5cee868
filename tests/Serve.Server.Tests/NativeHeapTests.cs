using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>The C heap trim that scaling down relies on to return freed native memory.</summary>
public class NativeHeapTests
{
    [Fact]
    public void Trimming_reaches_glibc_on_linux()
    {
        Assert.Equal(OperatingSystem.IsLinux() && !File.Exists("/etc/alpine-release"), NativeHeap.Trim());
    }
}
