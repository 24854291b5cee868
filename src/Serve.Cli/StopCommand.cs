using System;
using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace Serve.Cli;

/// <summary><c>serve stop</c>: asks the running server to stop (SIGTERM: it drains its models) and waits.</summary>
internal static partial class StopCommand
{
    private const int SigTerm = 15;

    public static Command Create()
    {
        var command = new Command("stop", "Stop the running server: queued requests finish, then it exits.");
        command.SetAction(async (parse, cancellation) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (PidFile.Read() is not { } pid || !IsRunning(pid))
            {
                error.WriteLine($"serve stop: no server is running (no live process in {PidFile.Path}).");
                return 1;
            }
            using var process = Process.GetProcessById(pid);
            if (OperatingSystem.IsWindows())
            {
                process.Kill();
            }
            else if (Kill(pid, SigTerm) != 0)
            {
                error.WriteLine($"serve stop: could not signal process {pid} (errno {Marshal.GetLastPInvokeError()}).");
                return 1;
            }
            await process.WaitForExitAsync(cancellation);
            output.WriteLine($"Server stopped (process {pid}).");
            return 0;
        });
        return command;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
