using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

/// <summary>
/// An app with handlers of its own that also serves a handler library's (samples/TextHandlers,
/// compiled against Serve.Runtime only): both sets are registered by their generated methods,
/// composed here, and answer over HTTP on 127.0.0.1.
/// </summary>
public sealed class HandlerLibraryTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-library-").FullName;
    private KestrelTestHost? _host;

    private HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Services
            .AddServe(options =>
            {
                options.Models.Add(new ModelOptions { Name = "echo", Path = _directory });   // this app's handler
                options.Models.Add(new ModelOptions { Name = "upper", Path = _directory });  // the library's
            })
            .AddServeHandlers()   // generated in this assembly: its own handlers
            .AddTextHandlers();   // generated, public, in the TextHandlers library

        _host = await KestrelTestHost.StartAsync(builder, app => app.MapServeEndpoints());
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_library_handler_and_the_app_handler_both_answer()
    {
        using var upper = await Client.PostAsync("/predictions/upper", new StringContent("héllo"));
        using var echo = await Client.PostAsync("/predictions/echo", new StringContent("hello"));

        Assert.Equal(HttpStatusCode.OK, upper.StatusCode);
        Assert.Equal("{\"text\":\"H\\u00C9LLO\",\"length\":5}", await upper.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, echo.StatusCode);
        Assert.Contains("\"text\":\"hello\"", await echo.Content.ReadAsStringAsync());
    }

    [Fact]
    public void The_registry_holds_both_sets()
    {
        var registry = _host!.Services.GetRequiredService<HandlerRegistry>();

        Assert.True(registry.TryGet("upper", out _));
        Assert.True(registry.TryGet("echo", out _));
        Assert.Equal(
            Microsoft.Extensions.DependencyInjection.TextHandlersServeRegistration.Handlers.Select(h => h.Name),
            ["upper"]);
    }

    [Fact]
    public void Handlers_of_two_assemblies_whose_names_differ_only_in_case_are_refused()
    {
        var library = Microsoft.Extensions.DependencyInjection.TextHandlersServeRegistration.Handlers[0];
        var clash = new Serve.Runtime.HandlerRegistration("UPPER", library.Create);

        var error = Assert.Throws<InvalidOperationException>(() => new HandlerRegistry([library, clash]));

        Assert.Contains("'upper' and 'UPPER'", error.Message);
    }
}
