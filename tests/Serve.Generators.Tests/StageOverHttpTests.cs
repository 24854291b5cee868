using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Runtime;
using Serve.Server;
using Serve.Server.Http;

namespace Serve.Generators.Tests;

/// <summary>
/// A handful of <see cref="StageCorpus"/> shapes served by a real Kestrel on 127.0.0.1: each
/// handler answers with its own marked stages, the way the server runs them (a per-request
/// preprocess as the request arrives, the rest on a worker). And the stage metrics they record.
/// </summary>
public class StageOverHttpTests
{
    public static TheoryData<string, BaseIn> Served() => new()
    {
        { "a [Handler] base with a per-request preprocess, derived with a batch one (defect 1)", BaseIn.Library },
        { "derived swaps a batch preprocess for a per-request one", BaseIn.LibraryWithInternals },
        { "a helper overload in the derived class beside the base's inference (defect 2)", BaseIn.SameFile },
        { "a protected stage with nothing of its name nearer the handler", BaseIn.Library },
        { "a covariant-return override feeding the derived postprocess (defect 7)", BaseIn.OtherFile },
    };

    [Theory]
    [MemberData(nameof(Served))]
    public async Task A_served_handler_answers_with_its_own_stages(string name, BaseIn where)
    {
        var shape = StageCorpus.Legal().Single(s => s.Name == name && s.Where == where);
        var model = "h" + Guid.NewGuid().ToString("N")[..8];
        using var metrics = new StageMeasurements(model);

        var build = await StageCorpusTests.BuildAsync(shape, LanguageVersion.Latest);
        var loaded = StageCorpusTests.Load(build);
        try
        {
            var registration = loaded.Registrations().Single(r => r.Name == "h");
            await using (var server = await ServeAsync(model, new HandlerRegistration(model, registration.Create)))
            {
                for (var i = 0; i < 3; i++)
                {
                    using var response = await server.Client.PostAsync($"/predictions/{model}", new StringContent("x"));
                    Assert.Equal(shape.Answer, await response.Content.ReadAsStringAsync());
                }
            }
            // Recorded once per request each: the per-request preprocess where the server ran it, never again per batch.
            Assert.Equal(3, metrics.Count("ts_handler_preprocess"));
            Assert.Equal(3, metrics.Count("HandlerTime"));
        }
        finally
        {
            loaded.Context.Unload();
        }
    }

    /// <summary>A batch whose requests the per-request preprocess all refused still took handler time, and says so.</summary>
    [Fact]
    public async Task A_batch_whose_requests_were_all_refused_records_its_handler_time()
    {
        var shape = new StageShape("refusing", "namespace Shapes { }", """
            namespace App
            {
                [Handler("h")]
                public partial class H
                {
                    [Initialize] public void Load() { }
                    [Preprocess] public string Pre(InferenceRequest r) => throw new InvalidRequestException("no");
                    [Inference] public string[] Run(IReadOnlyList<string> xs) => xs.ToArray();
                }
            }
            """);
        var model = "refused" + Guid.NewGuid().ToString("N")[..8];
        using var metrics = new StageMeasurements(model);
        var loaded = StageCorpusTests.Load(await StageCorpusTests.BuildAsync(shape, LanguageVersion.Latest));
        try
        {
            var handler = loaded.Create("h");
            var context = new HandlerContext(new ModelManifest { ModelName = model }, Path.GetTempPath());
            var results = await handler.HandleAsync([new InferenceRequest(new byte[] { 1 }), new InferenceRequest(new byte[] { 2 })], context, CancellationToken.None);

            Assert.All(results, r => Assert.Equal(InferenceErrorKind.InvalidRequest, r.ErrorKind));
            Assert.Equal(1, metrics.Count("HandlerTime"));
            Assert.Equal(1, metrics.Count("ts_handler_preprocess"));

            // As the server runs it when a request arrives: refused, and timed all the same.
            var refusal = await Assert.ThrowsAsync<HandlerStageException>(() => handler.PreprocessAsync(new InferenceRequest(new byte[] { 3 }), context, CancellationToken.None).AsTask());
            Assert.True(refusal.IsInvalidRequest);
            Assert.Equal(2, metrics.Count("ts_handler_preprocess"));
        }
        finally
        {
            loaded.Context.Unload();
        }
    }

    private sealed class Server(WebApplication app, string directory) : IAsyncDisposable
    {
        public HttpClient Client { get; } = new() { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromMinutes(1) };

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<Server> ServeAsync(string model, HandlerRegistration registration)
    {
        var directory = Directory.CreateTempSubdirectory("serve-stage-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddServe(options => options.Models.Add(new ModelOptions { Name = model, Path = directory, BatchSize = 1 }));
        builder.Services.AddSingleton(registration);
        var app = builder.Build();
        app.MapTorchServeInference();
        await app.StartAsync();
        return new Server(app, directory);
    }

    /// <summary>Counts the Serve meter's measurements tagged with one model name.</summary>
    private sealed class StageMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, int> _counts = new();

        public StageMeasurements(string model)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == HandlerMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "ModelName" && (string?)tag.Value == model)
                    {
                        _counts.AddOrUpdate(instrument.Name, 1, (_, n) => n + 1);
                    }
                }
            });
            _listener.Start();
        }

        public int Count(string instrument) => _counts.GetValueOrDefault(instrument);

        public void Dispose() => _listener.Dispose();
    }
}
