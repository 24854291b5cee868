using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>otlp_endpoint (serve start --otlp-endpoint): traces reach an OTLP/HTTP collector.</summary>
public sealed class TraceExportTests
{
    [Fact]
    public async Task With_an_otlp_endpoint_each_request_is_exported_as_a_trace_under_the_callers_traceparent()
    {
        var received = new ConcurrentQueue<byte[]>();
        var builder = KestrelTestHost.CreateBuilder();
        await using var collector = await KestrelTestHost.StartAsync(builder, app => app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue(body.ToArray());
            context.Response.ContentType = "application/x-protobuf";
        }));
        var caller = ActivityTraceId.CreateRandom();

        await using (var server = await TorchServeServer.StartAsync($"otlp_endpoint={new Uri(collector.Address, "/v1/traces")}"))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.Config.InferenceAddress, "/predictions/digits"))
            {
                Content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "images", "3.png"))),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.InferenceKey);
            request.Headers.Add("traceparent", $"00-{caller}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await server.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        } // Stopping the server flushes its exporter.

        // OTLP protobuf: span names as UTF-8 strings, the trace id as its 16 bytes.
        var exported = received.SelectMany(body => body).ToArray();
        var traceId = new byte[16];
        caller.CopyTo(traceId);
        Assert.True(exported.AsSpan().IndexOf(traceId) >= 0, $"the caller's trace id is not among the {received.Count} exports");
        foreach (var span in new[] { "serve.request", "serve.queue_wait", "serve.preprocess", "serve.inference", "serve.postprocess" })
        {
            Assert.True(exported.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(span)) >= 0, $"{span} was not exported");
        }
    }
}
