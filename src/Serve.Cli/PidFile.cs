using System;
using System.Globalization;
using System.IO;

namespace Serve.Cli;

/// <summary>Where a running server records its process id, for <c>serve stop</c> (TorchServe: /tmp/.model_server.pid).</summary>
internal static class PidFile
{
    public static string Path { get; } =
        Environment.GetEnvironmentVariable("SERVE_PID_FILE") is { Length: > 0 } path ? path : System.IO.Path.Combine(System.IO.Path.GetTempPath(), ".serve.pid");

    public static void Write() => File.WriteAllText(Path, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

    public static int? Read() =>
        File.Exists(Path) && int.TryParse(File.ReadAllText(Path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;

    public static void Delete()
    {
        if (Read() == Environment.ProcessId)
        {
            File.Delete(Path);
        }
    }
}
