using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>Token authorization on real Kestrel listeners on 127.0.0.1: one inference, one management.</summary>
public sealed class TokenAuthorizationHttpTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly TokenKeys _keys = new(TimeSpan.FromMinutes(60));
    private readonly HttpClient _client = new();
    private WebApplication _app = null!;
    private Uri _inference = null!;
    private Uri _management = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        _app = builder.Build();
        var managementPort = 0;
        _app.UseTokenAuthorization(_keys, _temp["key_file.json"], context => context.Connection.LocalPort == managementPort ? ServeApi.Management : ServeApi.Inference);
        _app.MapGet("/ping", () => "healthy");
        _app.MapPost("/predictions/{model}", (string model) => model);
        _app.MapGet("/models", () => "models");
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToArray();
        (_inference, _management) = (addresses[0], addresses[1]);
        managementPort = _management.Port;
        _keys.WriteKeyFile(_temp["key_file.json"]);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        _temp.Dispose();
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, Uri listener, string path, string? key)
    {
        var request = new HttpRequestMessage(method, new Uri(listener, path));
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return _client.SendAsync(request);
    }

    [Fact]
    public async Task Without_the_key_a_prediction_is_401_with_TorchServes_error_json()
    {
        using var response = await Send(HttpMethod.Post, _inference, "/predictions/digits", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(401, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal("TokenAuthorizationException", json.RootElement.GetProperty("type").GetString());
        Assert.Contains("inference key", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task With_the_inference_key_a_prediction_is_200()
    {
        using var response = await Send(HttpMethod.Post, _inference, "/predictions/digits", _keys.InferenceKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("digits", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_management_API_takes_the_management_key_not_the_inference_key()
    {
        using var wrong = await Send(HttpMethod.Get, _management, "/models", _keys.InferenceKey);
        using var right = await Send(HttpMethod.Get, _management, "/models", _keys.ManagementKey);

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    [Fact]
    public async Task Ping_needs_no_key_so_health_probes_work()
    {
        using var response = await Send(HttpMethod.Get, _inference, "/ping", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task The_API_key_renews_a_key_and_rewrites_the_key_file()
    {
        var old = _keys.InferenceKey;

        using var refused = await Send(HttpMethod.Get, _management, "/token?type=inference", _keys.ManagementKey);
        using var renewed = await Send(HttpMethod.Get, _management, "/token?type=inference", _keys.ApiKey);
        using var badType = await Send(HttpMethod.Get, _management, "/token?type=metrics", _keys.ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badType.StatusCode);
        Assert.NotEqual(old, _keys.InferenceKey);
        Assert.Contains(_keys.InferenceKey, File.ReadAllText(_temp["key_file.json"]));
        using var stale = await Send(HttpMethod.Post, _inference, "/predictions/digits", old);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
    }
}
