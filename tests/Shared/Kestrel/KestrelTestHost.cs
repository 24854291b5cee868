using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Serve.Tests;

/// <summary>
/// A real Kestrel on 127.0.0.1 for tests, on a port the OS picks (tests in other worktrees and
/// processes run at the same time), with a client at its address. Build the app with
/// <see cref="CreateBuilder"/>, add services, then <see cref="StartAsync"/> with the endpoints.
/// </summary>
public sealed class KestrelTestHost : IAsyncDisposable
{
    private KestrelTestHost(WebApplication app, TimeSpan clientTimeout)
    {
        App = app;
        Address = new Uri(app.Urls.Single());
        Client = new HttpClient { BaseAddress = Address, Timeout = clientTimeout };
    }

    /// <summary>The running app.</summary>
    public WebApplication App { get; }

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => App.Services;

    /// <summary>http://127.0.0.1:{port}/.</summary>
    public Uri Address { get; }

    /// <summary>A client whose base address is <see cref="Address"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>A slim builder listening on 127.0.0.1:0, with no log providers (add your own if a test reads the log).</summary>
    public static WebApplicationBuilder CreateBuilder(string? contentRoot = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        return builder;
    }

    /// <summary>Builds the app, maps its endpoints with <paramref name="map"/> and starts it.</summary>
    public static Task<KestrelTestHost> StartAsync(WebApplicationBuilder builder, Action<WebApplication> map, TimeSpan? clientTimeout = null)
    {
        var app = builder.Build();
        try
        {
            map(app);
        }
        catch
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        return StartAsync(app, clientTimeout);
    }

    /// <summary>Starts an app built elsewhere (a sample's own builder) that listens on 127.0.0.1:0.</summary>
    public static async Task<KestrelTestHost> StartAsync(WebApplication app, TimeSpan? clientTimeout = null)
    {
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new KestrelTestHost(app, clientTimeout ?? TimeSpan.FromSeconds(100));
    }

    /// <summary>Stops the server (draining its models) and disposes it.</summary>
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
