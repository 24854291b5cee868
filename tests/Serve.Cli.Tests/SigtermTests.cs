using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.Cli.Tests;

/// <summary>
/// A request sent just after SIGTERM is answered (or refused at connect), never cut off with no
/// answer (issue 23 item 13), on a real `serve start` process this test starts and signals by its pid.
/// It runs alone: the server ends its grace after 250 ms without requests, and on 2 cores the
/// other serve processes this project starts in parallel once delayed this test's sends past it.
/// </summary>
[Collection(nameof(SigtermTests))]
public sealed class SigtermTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Requests_on_kept_alive_connections_just_after_sigterm_are_answered()
    {
        var (port, _) = ServeProcess.WriteConfig(_temp, "disable_token_authorization=true");
        using var server = Process.Start(ServeProcess.StartInfo(_temp, ["start", "--foreground", "--ts-config", "config.properties"]))!;
        var output = server.StandardOutput.ReadToEndAsync();
        var errors = server.StandardError.ReadToEndAsync();
        try
        {
            await WaitForPing(port);
            // Eight kept-alive connections, each having had one answer.
            var connections = new List<Socket>();
            for (var i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port);
                Assert.NotNull(await Exchange(socket));
                connections.Add(socket);
            }

            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            await Task.Delay(50); // long enough for Kestrel to have closed idle connections, had it stopped at once

            var answers = await Task.WhenAll(connections.ConvertAll(Exchange));
            Assert.True(server.WaitForExit(30_000), "the server stops after its grace");
            foreach (var answer in answers)
            {
                Assert.True(answer is not null, "a connection was closed with no answer: " + await output + await errors);
                Assert.True(answer!.Status is 200 or 503, answer.Head);
                Assert.Contains("Connection: close", answer.Head);
            }
            connections.ForEach(s => s.Dispose());
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(); // the process this test started, by its handle
            }
        }
    }

    private static async Task<RawHttp.Answer?> Exchange(Socket socket)
    {
        try
        {
            await socket.SendAsync("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var received = new MemoryStream();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (RawHttp.Parse(Encoding.UTF8.GetString(received.ToArray())) is { Complete: true } answer)
                {
                    return answer;
                }
            }
            return null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static async Task WaitForPing(int port)
    {
        using var client = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var ping = await client.GetAsync($"http://127.0.0.1:{port}/ping");
                if (ping.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            await Task.Delay(100);
        }
    }
}

/// <summary>Runs <see cref="SigtermTests"/> with no other test of this project alongside.</summary>
[CollectionDefinition(nameof(SigtermTests), DisableParallelization = true)]
public sealed class SigtermTestsCollection;
