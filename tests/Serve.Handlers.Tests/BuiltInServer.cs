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
using Serve.Tests;

namespace Serve.Handlers.Tests;

/// <summary>
/// Real Kestrel on 127.0.0.1 serving model directories with no handler code (each manifest names a
/// built-in), on ONNX Runtime and TorchSharp; the directories are deleted with the server.
/// </summary>
public abstract class BuiltInServer(params (string Name, string Directory)[] models) : IAsyncLifetime
{
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        var builder = KestrelTestHost.CreateBuilder();
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
        _host = await KestrelTestHost.StartAsync(builder, app =>
        {
            app.MapTorchServeInference();
            app.MapOpenInferenceProtocol();
        }, TimeSpan.FromMinutes(2));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        foreach (var (_, directory) in models)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
