using System;
using System.IO;
using System.Runtime.CompilerServices;

namespace Serve.Generators.Tests;

/// <summary>
/// Approved-file snapshots: expected generated sources live in Snapshots/ next to this file.
/// Run with SERVE_UPDATE_SNAPSHOTS=1 to rewrite them, then review the diff in git.
/// </summary>
internal static class Snapshot
{
    public static void Match(string actual, string name, [CallerFilePath] string callerPath = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(callerPath)!, "Snapshots", name);
        actual = actual.Replace("\r\n", "\n");
        if (Environment.GetEnvironmentVariable("SERVE_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"No snapshot {path}; run the tests with SERVE_UPDATE_SNAPSHOTS=1 to create it.");
        var expected = File.ReadAllText(path).Replace("\r\n", "\n");
        if (expected == actual)
        {
            return;
        }
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        var line = 0;
        while (line < Math.Min(expectedLines.Length, actualLines.Length) && expectedLines[line] == actualLines[line])
        {
            line++;
        }
        Assert.Fail(
            $"Generated source differs from {name} at line {line + 1}:\n" +
            $"  expected: {(line < expectedLines.Length ? expectedLines[line] : "<end>")}\n" +
            $"  actual:   {(line < actualLines.Length ? actualLines[line] : "<end>")}\n" +
            "Run with SERVE_UPDATE_SNAPSHOTS=1 to accept the new output.");
    }
}
