using System.Net.Http;
using System.Threading.Tasks;
using Samples.Digits;
using Serve.Tests;

namespace Serve.IntegrationTests;

/// <summary>The digits sample, started once for the test class on a free port of 127.0.0.1.</summary>
public sealed class DigitsServer : IAsyncLifetime
{
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync() => _host = await KestrelTestHost.StartAsync(DigitsApp.Build(["--urls", "http://127.0.0.1:0"]));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
