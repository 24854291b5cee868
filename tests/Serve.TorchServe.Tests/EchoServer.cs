using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.Runtime;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>
/// A handler written by hand: a body holding a number N is answered with N bytes of 'x', so a
/// test chooses how large each answer is. Its model file is never read.
/// </summary>
public sealed class SizedAnswerHandler : IExplainingHandler
{
    public const string Name = "sized_answer";

    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<InferenceResult>>(batch.Select(Answer).ToArray());

    public ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
        HandleAsync(batch, context, cancellationToken);

    private static InferenceResult Answer(InferenceRequest request)
    {
        var size = int.Parse(Encoding.ASCII.GetString(request.Body.Span), CultureInfo.InvariantCulture);
        return InferenceResult.Binary(Enumerable.Repeat((byte)'x', size).ToArray());
    }
}

/// <summary>A server built as `serve start` builds it, on 127.0.0.1, serving model "sized" with <see cref="SizedAnswerHandler"/>.</summary>
public sealed class EchoServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoServer(WebApplication app, TorchServeConfig config, TempDirectory temp)
    {
        _app = app;
        Config = config;
        Temp = temp;
    }

    public TempDirectory Temp { get; }

    public TorchServeConfig Config { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Config lines are added to 127.0.0.1 addresses on free ports, the store, load_models and no
    /// token authorization. <paramref name="handler"/> replaces <see cref="SizedAnswerHandler"/> as model "sized"'s handler.
    /// </summary>
    public static async Task<EchoServer> StartAsync(string extraConfig = "", string scheme = "http", string? accessLog = null, TempDirectory? temp = null,
        Func<IHandler>? handler = null)
    {
        handler ??= () => new SizedAnswerHandler();
        temp ??= new TempDirectory();
        var store = temp["store"];
        Directory.CreateDirectory(store);
        File.WriteAllText(temp["sized.bin"], "not read");
        Serve.Archives.ModelArchiveWriter.Write(new Serve.Archives.ArchiveSpec
        {
            ModelName = "sized",
            Version = "1.0",
            SerializedFile = temp["sized.bin"],
            Handler = SizedAnswerHandler.Name,
            ExportPath = store,
        }, DateTime.Now);
        var config = TorchServeConfig.Parse($"""
            inference_address={scheme}://127.0.0.1:{FreePort.Next()}
            management_address={scheme}://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            model_store={store}
            load_models=sized.mar
            disable_token_authorization=true
            {extraConfig}
            """, "test config.properties");
        var app = TorchServeHost.Build(config, ModelStore.Select(config.ModelStore, config.LoadModels),
            services => services.AddSingleton(new HandlerRegistration(SizedAnswerHandler.Name, handler)),
            TextWriter.Null, temp["work"], temp["key_file.json"], accessLog);
        await app.StartAsync();
        return new EchoServer(app, config, temp);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Temp.Dispose();
    }
}
