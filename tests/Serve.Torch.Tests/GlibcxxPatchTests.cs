using System;
using System.IO;
using System.Linq;

namespace Serve.Torch.Tests;

/// <summary>The build patches the output copy of libLibTorchSharp.so, never the package cache's.</summary>
public class GlibcxxPatchTests
{
    [Fact]
    public void The_output_copy_differs_from_the_package_by_the_weak_flag_alone_unless_the_system_needs_no_patch()
    {
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), output);
        Assert.True(File.Exists(original), original);

        var patched = File.ReadAllBytes(output);
        var pristine = File.ReadAllBytes(original);
        var differences = Enumerable.Range(0, pristine.Length).Where(i => patched[i] != pristine[i]).ToArray();

        Assert.Equal(pristine.Length, patched.Length);
        if (SystemHasGlibcxx32())
        {
            Assert.Empty(differences);
            return;
        }
        var at = Assert.Single(differences);
        Assert.Equal(pristine[at] | 0x2, patched[at]); // VER_FLG_WEAK set in one vna_flags
    }

    private static bool SystemHasGlibcxx32()
    {
        var library = new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        return library is not null && System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(library)).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);
    }
}
