using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Serve.Runtime;
using Serve.Server;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

/// <summary>
/// Serve's traces as OpenTelemetry's in-memory exporter receives them: one trace per request,
/// the caller's W3C traceparent its parent, with a span for each stage the request went through.
/// </summary>
public sealed class TraceTests
{
    private static readonly string[] Stages = ["serve.queue_wait", "serve.preprocess", "serve.inference", "serve.postprocess"];

    [Fact]
    public async Task Each_request_is_one_trace_under_the_callers_traceparent_through_aspnetcores_activity()
    {
        var exported = new List<Activity>();
        await using var server = await StartAsync(exported, listenToAspNetCore: true);
        var callers = Enumerable.Range(0, 3).Select(_ => Caller()).ToArray();

        // At once, so the batch (batchSize 4) can hold several: each request still gets its own trace.
        await Task.WhenAll(callers.Select(caller => PredictAsync(server.Client, caller, "/predictions/parity")));

        foreach (var caller in callers)
        {
            var trace = await SpansOfAsync(exported, caller.TraceId);
            var hosting = Assert.Single(trace, span => span.Source.Name == "Microsoft.AspNetCore");
            Assert.Equal(caller.SpanId, hosting.ParentSpanId);
            var request = Assert.Single(trace, span => span.OperationName == "serve.request");
            Assert.Equal(hosting.SpanId, request.ParentSpanId);
            AssertStagesUnder(request, trace);
        }
    }

    [Fact]
    public async Task Without_aspnetcores_activity_the_traceparent_header_is_still_the_parent_for_every_protocol()
    {
        var exported = new List<Activity>();
        await using var server = await StartAsync(exported, listenToAspNetCore: false);
        var paths = new[] { "/predictions/parity", "/v1/models/parity:predict", "/v2/models/parity/infer" };

        foreach (var path in paths)
        {
            var caller = Caller();
            await PredictAsync(server.Client, caller, path);

            var trace = await SpansOfAsync(exported, caller.TraceId);
            var request = Assert.Single(trace, span => span.OperationName == "serve.request");
            Assert.Equal(caller.SpanId, request.ParentSpanId);
            Assert.Equal("parity", request.GetTagItem(ServeTracing.ModelTag));
            AssertStagesUnder(request, trace);
        }
    }

    [Fact]
    public async Task A_failed_request_is_traced_with_its_error_kind()
    {
        var exported = new List<Activity>();
        await using var server = await StartAsync(exported, listenToAspNetCore: false);
        var caller = Caller();

        using var response = await server.Client.SendAsync(Request(caller, "/predictions/parity", "a bad input"));

        Assert.Equal(400, (int)response.StatusCode);
        var request = Assert.Single(await SpansOfAsync(exported, caller.TraceId), span => span.OperationName == "serve.request");
        Assert.Equal(ActivityStatusCode.Error, request.Status);
        Assert.Equal(nameof(InferenceErrorKind.InvalidRequest), request.GetTagItem("error.type"));
    }

    private static void AssertStagesUnder(Activity request, IReadOnlyList<Activity> trace)
    {
        foreach (var stage in Stages)
        {
            var span = Assert.Single(trace, s => s.OperationName == stage);
            Assert.Equal(request.SpanId, span.ParentSpanId);
            Assert.Equal("parity", span.GetTagItem(ServeTracing.ModelTag));
            Assert.NotNull(span.GetTagItem(ServeTracing.VersionTag));
            Assert.True(span.StartTimeUtc >= request.StartTimeUtc && span.StartTimeUtc + span.Duration <= request.StartTimeUtc + request.Duration,
                $"{stage} ({span.StartTimeUtc:O} + {span.Duration}) lies outside serve.request ({request.StartTimeUtc:O} + {request.Duration})");
        }
        // The batch's stages say how many requests the batch held and where it ran.
        foreach (var stage in new[] { "serve.inference", "serve.postprocess" })
        {
            var span = trace.Single(s => s.OperationName == stage);
            Assert.InRange(Assert.IsType<int>(span.GetTagItem(ServeTracing.BatchSizeTag)), 1, 4);
            Assert.Equal("cpu", span.GetTagItem(ServeTracing.DeviceTag));
        }
    }

    /// <summary>The spans of one trace, once its serve.request has ended (it ends after the answer is written).</summary>
    private static async Task<IReadOnlyList<Activity>> SpansOfAsync(List<Activity> exported, ActivityTraceId traceId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            lock (exported)
            {
                var trace = exported.Where(span => span.TraceId == traceId).ToArray();
                if (trace.Any(span => span.OperationName == "serve.request"))
                {
                    return trace;
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"No serve.request span was exported for trace {traceId}.");
    }

    private static ActivityContext Caller() => new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    private static async Task PredictAsync(HttpClient client, ActivityContext caller, string path)
    {
        using var response = await client.SendAsync(Request(caller, path, "hello"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static HttpRequestMessage Request(ActivityContext caller, string path, string input)
    {
        var body = path switch
        {
            _ when path.StartsWith("/v1/", StringComparison.Ordinal) => $$"""{"instances": ["{{input}}"]}""",
            _ when path.StartsWith("/v2/", StringComparison.Ordinal) => $$"""{"inputs": [{"name": "in", "datatype": "BYTES", "shape": [1], "data": ["{{input}}"]}]}""",
            _ => input,
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("traceparent", $"00-{caller.TraceId}-{caller.SpanId}-01");
        return request;
    }

    private static async Task<TracedServer> StartAsync(List<Activity> exported, bool listenToAspNetCore)
    {
        var directory = Directory.CreateTempSubdirectory("serve-trace-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "model-config.yaml"), "batchSize: 4\nmaxBatchDelay: 20\n");
        var builder = KestrelTestHost.CreateBuilder(directory);
        builder.Services
            .AddServe(options => options.Models.Add(new ModelOptions { Name = "parity", Path = directory }))
            .AddServeHandlers();
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
            .AddSource(listenToAspNetCore ? [ServeTracing.SourceName, "Microsoft.AspNetCore"] : [ServeTracing.SourceName])
            .AddInMemoryExporter(exported));
        var host = await KestrelTestHost.StartAsync(builder, app => app.MapServeEndpoints());
        return new TracedServer(host, directory);
    }

    private sealed class TracedServer(KestrelTestHost host, string directory) : IAsyncDisposable
    {
        public HttpClient Client => host.Client;

        public async ValueTask DisposeAsync()
        {
            await host.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
