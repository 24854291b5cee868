using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Xunit.Abstractions;

namespace Serve.IntegrationTests;

/// <summary>
/// The sample as a child process under a low descriptor limit, flooded from 127.0.0.1 with more
/// connections than it may hold. Each run is bounded in connections and seconds and stops by itself.
/// </summary>
public sealed class FloodTests(ITestOutputHelper output)
{
    private static readonly string Images = Path.Combine(AppContext.BaseDirectory, "images");

    // Defect 1: under `ulimit -n 512` (soft and hard), 800 slow connections used to exhaust the
    // descriptors and the runtime aborted ("Out of memory.", exit 134). Now the cap refuses them.
    // 256 is barely above what the process holds idle (about 190): the cap falls to about a dozen.
    [Theory]
    [InlineData(512, 800)]
    [InlineData(256, 600)]
    public async Task Slow_connections_beyond_the_descriptor_limit_are_refused_and_the_process_lives(int descriptors, int connections)
    {
        using var server = await SampleServerProcess.StartAsync($"-n {descriptors}");
        var slow = await OpenSlowConnectionsAsync(server.Port, connections);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}"), Timeout = TimeSpan.FromSeconds(5) };
        var image = File.ReadAllBytes(Path.Combine(Images, "3.png"));
        try
        {
            for (var second = 0; second < 8; second++)
            {
                await TrickleAsync(slow);
                // Requests meanwhile, which make the runtime want threads and files: answered or refused, never fatal.
                await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
                {
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, "/predictions/digits") { Content = new ByteArrayContent(image) };
                        request.Headers.ConnectionClose = true;
                        using var response = await client.SendAsync(request);
                        Assert.Contains((int)response.StatusCode, new[] { 200, 503 });
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        // Before the fix: the process was gone.
                    }
                }));
                await Task.Delay(500);
                Assert.False(server.HasExited, $"The server died (exit {server.ExitCode}):\n{server.Output}");
            }
            output.WriteLine($"{server.OpenDescriptors()} descriptors open under the flood");
        }
        finally
        {
            slow.ForEach(socket => socket.Dispose());
        }

        Assert.False(server.HasExited, $"The server died (exit {server.ExitCode}):\n{server.Output}");
        Assert.DoesNotContain("Out of memory", server.Output);
        Assert.Contains("Connections are capped at", server.Output);
        await AssertServesAsync(server.Port);
    }

    [Fact]
    public async Task The_soft_descriptor_limit_is_raised_to_the_hard_limit_at_start()
    {
        using var server = await SampleServerProcess.StartAsync("-Sn 400");

        var (soft, hard) = server.OpenFileLimits();
        Assert.Equal(hard, soft);
    }

    // Mixed good, bad, slow and oversized traffic at more connections than the cap: two rounds of
    // 12 s (a soak in miniature: what a round leaks shows as growth from one round to the next).
    [Fact]
    public async Task A_mixed_flood_leaves_every_good_request_answered_correctly_or_refused_503()
    {
        using var server = await SampleServerProcess.StartAsync("-n 512");
        var images = Enumerable.Range(0, 10).Select(d => (Digit: d, Bytes: File.ReadAllBytes(Path.Combine(Images, $"{d}.png")))).ToArray();
        await AssertServesAsync(server.Port);
        var idleRss = server.ResidentBytes();

        var outcomes = new ConcurrentDictionary<string, int>();
        var wrong = new ConcurrentQueue<string>();
        long sent = 0, answered = 0;
        var stop = new CancellationTokenSource();
        var peakRss = idleRss;

        async Task GoodClientAsync(int id)
        {
            // Half keep their connection; half open a new one per request, so they meet the cap.
            var fresh = id % 2 == 1;
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}"), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.ConnectionClose = fresh;
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (digit, bytes) = images[(id + i) % images.Length];
                Interlocked.Increment(ref sent);
                try
                {
                    using var response = await client.PostAsync("/predictions/digits", new ByteArrayContent(bytes));
                    var body = await response.Content.ReadAsStringAsync();
                    Interlocked.Increment(ref answered);
                    outcomes.AddOrUpdate("good " + (int)response.StatusCode, 1, (_, n) => n + 1);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        using var json = JsonDocument.Parse(body);
                        if (json.RootElement.GetProperty("digit").GetInt32() != digit)
                        {
                            wrong.Enqueue($"{digit}.png answered {body}");
                        }
                    }
                    else if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                    {
                        wrong.Enqueue($"{digit}.png answered {(int)response.StatusCode} {body}");
                    }
                    else
                    {
                        await Task.Delay(50);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    wrong.Enqueue($"{digit}.png got no answer ({(fresh ? "new connection" : "kept connection")}, request {i}): {e.GetType().Name} {e.Message} {e.InnerException?.GetType().Name} {e.InnerException?.Message} {e.InnerException?.InnerException?.Message}");
                }
            }
        }

        async Task BadClientAsync(int id)
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}"), Timeout = TimeSpan.FromSeconds(30) };
            var truncated = images[3].Bytes[..(images[3].Bytes.Length / 2)];
            var oversized = new byte[7_000_000];
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                HttpContent content = (i % 4) switch
                {
                    0 => new StringContent("not an image"),
                    1 => new ByteArrayContent(truncated),
                    2 => new ByteArrayContent(oversized),
                    _ => new ByteArrayContent(Encoding.ASCII.GetBytes("--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nno end")),
                };
                if (i % 4 == 3)
                {
                    content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=x");
                }
                try
                {
                    using var response = await client.PostAsync("/predictions/digits", content);
                    outcomes.AddOrUpdate("bad " + (int)response.StatusCode, 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    outcomes.AddOrUpdate("bad no answer", 1, (_, n) => n + 1); // a refused oversized upload may be cut off mid-send
                }
                finally
                {
                    content.Dispose();
                }
            }
        }

        async Task SlowFloodAsync()
        {
            // More slow connections than the cap (about 237 under this limit), renewed as they are refused.
            var slow = await OpenSlowConnectionsAsync(server.Port, 400);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await TrickleAsync(slow);
                    peakRss = Math.Max(peakRss, server.ResidentBytes());
                    await Task.Delay(1000);
                }
            }
            finally
            {
                slow.ForEach(socket => socket.Dispose());
            }
        }

        var afterRounds = new List<long>();
        for (var round = 0; round < 2; round++)
        {
            using (stop = new CancellationTokenSource(TimeSpan.FromSeconds(12)))
            {
                // Good clients first: the keep-alive ones hold their connections through the flood.
                var clients = Enumerable.Range(0, 8).Select(GoodClientAsync).ToList();
                await Task.Delay(500);
                clients.Add(SlowFloodAsync());
                clients.AddRange(Enumerable.Range(0, 4).Select(BadClientAsync));
                await Task.WhenAll(clients);
            }
            Assert.False(server.HasExited, $"The server died (exit {server.ExitCode}):\n{server.Output}");
            await Task.Delay(3000); // the refused and slow connections drain; collections run
            await AssertServesAsync(server.Port);
            afterRounds.Add(server.ResidentBytes());
        }
        var afterRss = afterRounds[^1];

        output.WriteLine($"sent {sent} good, answered {answered}; outcomes: {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}: {o.Value}"))}");
        output.WriteLine($"RSS idle {idleRss >> 20} MB, peak {peakRss >> 20} MB, after round 1 {afterRounds[0] >> 20} MB, after round 2 {afterRss >> 20} MB; {server.OpenDescriptors()} descriptors open after");
        // Defect 6: client misbehaviour is not logged as server errors, nor once per refused connection.
        var logLines = server.Output.Split('\n');
        var errors = logLines.Count(line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal));
        var warnings = logLines.Count(line => line.StartsWith("warn:", StringComparison.Ordinal));
        output.WriteLine($"server log: {logLines.Length} lines, {errors} errors, {warnings} warnings");
        foreach (var problem in wrong)
        {
            output.WriteLine(problem);
        }
        Assert.Empty(wrong);
        Assert.Equal(sent, answered);
        Assert.Equal(0, errors);
        Assert.Equal(0, warnings);
        Assert.True(outcomes.GetValueOrDefault("good 200") > 0, "no good request was answered during the flood");
        Assert.True(outcomes.GetValueOrDefault("good 503") > 0, "the flood never reached the cap: no good request was refused 503");
        Assert.True(outcomes.Keys.Count(k => k.StartsWith("bad 4", StringComparison.Ordinal)) > 0, "no bad request was refused 4xx");
        // "Near idle": the GC keeps some of the heap it grew (about 30 MB here), but a second round
        // adds nothing that a leak would: no growth beyond 16 MB from one round to the next.
        Assert.True(afterRss < idleRss + 100L * 1024 * 1024, $"RSS after the flood {afterRss >> 20} MB is far above idle {idleRss >> 20} MB");
        Assert.True(afterRss < afterRounds[0] + 16L * 1024 * 1024, $"RSS grew from {afterRounds[0] >> 20} MB to {afterRss >> 20} MB between rounds");
    }

    private static async Task<List<Socket>> OpenSlowConnectionsAsync(int port, int count)
    {
        var sockets = new List<Socket>(count);
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
                await socket.SendAsync(Encoding.ASCII.GetBytes("POST /predictions/digits HTTP/1.1\r\nHost: x\r\n"));
                sockets.Add(socket);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
            }
        }
        return sockets;
    }

    /// <summary>One more header line on every slow connection (a slowloris keeps its headers unfinished).</summary>
    private static async Task TrickleAsync(List<Socket> sockets)
    {
        foreach (var socket in sockets)
        {
            try
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes("X-Slow: 1\r\n"), SocketFlags.None);
            }
            catch (SocketException)
            {
            }
        }
    }

    private static async Task AssertServesAsync(int port)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        using var ping = await client.GetAsync("/ping");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        using var response = await client.PostAsync("/predictions/digits", new ByteArrayContent(File.ReadAllBytes(Path.Combine(Images, "3.png"))));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(3, json.RootElement.GetProperty("digit").GetInt32());
    }
}
