using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serve.TorchServe.Http;

namespace Serve.TorchServe.Tests;

/// <summary>OPTIONS / on the inference and management listeners: TorchServe's OpenAPI description of each API.</summary>
public sealed class ApiDescriptionTests : IAsyncLifetime
{
    private EchoServer _server = null!;
    private readonly HttpClient _client = new();

    public async Task InitializeAsync() => _server = await EchoServer.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<JsonElement> Describe(Uri listener, HttpMethod method, string path = "/")
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, new Uri(listener, path)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return await response.Json();
    }

    [Fact]
    public async Task The_inference_listener_describes_the_inference_API()
    {
        var document = await Describe(_server.Config.InferenceAddress, HttpMethod.Options);

        Assert.Equal("3.0.1", document.GetProperty("openapi").GetString());
        Assert.Equal("TorchServe APIs", document.GetProperty("info").GetProperty("title").GetString());
        var paths = document.GetProperty("paths");
        Assert.Equal("predictions", paths.GetProperty("/predictions/{model_name}").GetProperty("post").GetProperty("operationId").GetString());
        Assert.True(paths.GetProperty("/").TryGetProperty("options", out _));
        Assert.False(paths.TryGetProperty("/models", out _), "management paths are not on the inference listener");
        Assert.Equal(document.GetRawText(), (await Describe(_server.Config.InferenceAddress, HttpMethod.Get, "/api-description")).GetRawText());
    }

    [Fact]
    public async Task The_management_listener_describes_the_management_API()
    {
        var document = await Describe(_server.Config.ManagementAddress, HttpMethod.Options);

        var paths = document.GetProperty("paths");
        var register = paths.GetProperty("/models").GetProperty("post");
        Assert.Equal("registerModel", register.GetProperty("operationId").GetString());
        Assert.Contains(register.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "url" && p.GetProperty("in").GetString() == "query");
        Assert.True(paths.GetProperty("/models/{model_name}/{model_version}/set-default").TryGetProperty("put", out _));
        Assert.False(paths.TryGetProperty("/predictions/{model_name}", out _), "inference paths are not on the management listener");
    }

    [Fact]
    public async Task The_metrics_listener_has_no_description()
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Options, new Uri(_server.Config.MetricsAddress, "/")));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void Every_described_operation_is_a_route_of_its_listener()
    {
        var routes = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(endpoint => (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(method => (Api: endpoint.Metadata.GetMetadata<ServeApiMetadata>()?.Api, Method: method, Path: Normalize(endpoint.RoutePattern.RawText!))))
            .ToHashSet();

        foreach (var (api, operations) in new[] { (ServeApi.Inference, ApiDescription.Inference), (ServeApi.Management, ApiDescription.Management) })
        {
            foreach (var operation in operations)
            {
                // The description itself is one route for every listener (it answers each listener's own).
                Assert.True(routes.Contains((api, operation.Method, Normalize(operation.Path))) || routes.Contains((null, operation.Method, Normalize(operation.Path))),
                    $"{api}: {operation.Method} {operation.Path} is described but not mapped");
            }
        }
    }

    /// <summary>Route parameters by position only: /models/{model}/{version} and /models/{model_name}/{model_version} are one route.</summary>
    private static string Normalize(string path) =>
        "/" + string.Join('/', path.Trim('/').Split('/').Select(segment => segment.StartsWith('{') ? "{}" : segment));
}
