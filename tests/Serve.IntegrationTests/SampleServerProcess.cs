using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.IntegrationTests;

/// <summary>
/// The digits sample as a child process on 127.0.0.1 under a chosen descriptor limit
/// (<c>ulimit -n</c>): what only a separate process can show, such as surviving descriptor
/// exhaustion. Killed by its own PID when disposed.
/// </summary>
public sealed class SampleServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SampleServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the sample with <paramref name="ulimit"/> (e.g. "-n 512" or "-Sn 300") and waits until /ping is healthy.</summary>
    public static async Task<SampleServerProcess> StartAsync(string ulimit, params string[] arguments)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Digits.dll");
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"ulimit {ulimit} && exec dotnet \"$0\" \"$@\"");
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["Logging__LogLevel__Default"] = "Information";
        var server = new SampleServerProcess(Process.Start(start)!, port);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            try
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{port}/ping");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        var output = server.Output;
        server.Dispose();
        throw new InvalidOperationException($"The sample did not become healthy on port {port}:\n{output}");
    }

    /// <summary>The process's resident set size in bytes, from /proc.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>The soft and hard "Max open files" of the process, from /proc.</summary>
    public (long Soft, long Hard) OpenFileLimits()
    {
        var line = File.ReadLines($"/proc/{Pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[0]), long.Parse(fields[1]));
    }

    public int OpenDescriptors() => Directory.GetFiles($"/proc/{Pid}/fd").Length;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(); // our own child, by its PID
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}
