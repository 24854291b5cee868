using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Serve.Server.Connections;

/// <summary>
/// The process's open-file limit (RLIMIT_NOFILE). Every connection is a descriptor, and the
/// runtime itself needs descriptors to start a thread or load an assembly: when it cannot get
/// one it aborts with "Out of memory.". So the server raises the soft limit to the hard one at
/// start (as Go's runtime and nginx do) and caps connections well below it.
/// </summary>
internal static partial class DescriptorLimit
{
    private const int RlimitNofile = 7; // Linux; the value differs on other systems.

    /// <summary>Raises the soft limit to the hard limit; returns the soft limit now in force, or null where unknown.</summary>
    public static long? RaiseToHardLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }
        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetRLimit(RlimitNofile, raised) == 0)
            {
                return (long)Math.Min(raised.Current, long.MaxValue);
            }
        }
        return (long)Math.Min(limit.Current, long.MaxValue);
    }

    /// <summary>Descriptors open now, or null where the system does not say.</summary>
    public static int? OpenNow()
    {
        try
        {
            return Directory.GetFiles("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The default connection cap for a descriptor limit: what is left after the descriptors the
    /// process holds now and a headroom (an eighth of the limit, at least 128) for the assemblies,
    /// threads, model files and logs it may still open. Under a limit too low for that headroom,
    /// an eighth of what is left, at least 1: such a server serves few clients, but stays up.
    /// </summary>
    public static long ConnectionCap(long descriptorLimit, int openNow)
    {
        var headroom = Math.Max(128, descriptorLimit / 8);
        var cap = descriptorLimit - openNow - headroom;
        return cap >= MinimumComfortableCap ? cap : Math.Max(1, (descriptorLimit - openNow) / 8);
    }

    /// <summary>Below this many connections the descriptor limit is too low to serve comfortably (a warning at start).</summary>
    public const int MinimumComfortableCap = 16;

    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);
}
