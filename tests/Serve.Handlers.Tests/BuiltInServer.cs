using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Server.Http;

namespace Serve.Handlers.Tests;

/// <summary>
/// Real Kestrel on 127.0.0.1 serving model directories with no handler code (each manifest names a
/// built-in), on ONNX Runtime and TorchSharp; the directories are deleted with the server.
/// </summary>
public abstract class BuiltInServer(params (string Name, string Directory)[] models) : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services
            .AddServe(options =>
            {
                foreach (var (name, directory) in models)
                {
                    options.Models.Add(new ModelOptions { Name = name, Path = directory });
                }
            })
            .AddOnnxRuntime()
            .AddTorchSharp()
            .AddServeBuiltInHandlers(); // generated, public, in Serve.BuiltInHandlers
        _app = builder.Build();
        _app.MapTorchServeInference();
        await _app.StartAsync();
        Client = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()), Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        foreach (var (_, directory) in models)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
