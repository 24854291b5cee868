using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.Cli.Tests;

/// <summary>The built `serve` tool run as a process in a test's temporary directory, with its pid file there.</summary>
internal static class ServeProcess
{
    /// <summary>
    /// Writes the test's config.properties: the three APIs on free ports of 127.0.0.1 and gRPC off,
    /// never TorchServe's 8080-8082 and 7070-7071, which another server may hold; then <paramref name="extra"/>
    /// lines. Returns the inference and management ports.
    /// </summary>
    public static (int Inference, int Management) WriteConfig(TempDirectory temp, string extra = "")
    {
        var (inference, management) = (FreePort.Next(), FreePort.Next());
        File.WriteAllText(temp["config.properties"], $"""
            inference_address=http://127.0.0.1:{inference}
            management_address=http://127.0.0.1:{management}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            grpc_inference_port=0
            grpc_management_port=0
            {extra}
            """);
        return (inference, management);
    }

    /// <summary>How to start <c>serve</c> with <paramref name="args"/> in <paramref name="temp"/>, its output redirected.</summary>
    public static ProcessStartInfo StartInfo(TempDirectory temp, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = temp.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "serve.dll"));
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["SERVE_PID_FILE"] = temp["serve.pid"];
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        return start;
    }

    /// <summary>Runs <c>serve</c> to its end (at most a minute): its exit code, standard output and standard error.</summary>
    public static async Task<(int Code, string Output, string Error)> RunAsync(TempDirectory temp, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(temp, args, environment))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Runs a test's <paramref name="checks"/> against a server started in the background, then
    /// stops it whatever happened. A failed stop is reported only when the checks passed, so it
    /// never hides the failure that came first.
    /// </summary>
    public static async Task CheckThenStopAsync(TempDirectory temp, Func<Task> checks)
    {
        try
        {
            await checks();
        }
        catch
        {
            await RunAsync(temp, null, "stop");
            throw;
        }
        var stop = await RunAsync(temp, null, "stop");
        Assert.True(stop.Code == 0, $"serve stop: {stop.Code}: {stop.Error}");
    }
}
