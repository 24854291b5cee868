using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serve.Server;
using Serve.Server.Tests.TestHandlers;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

/// <summary>A real Kestrel serving the "parity" model with a small request and response limit, for <see cref="ProtocolParityTests"/>.</summary>
public sealed class ParityServer : IAsyncLifetime
{
    public const int MaxRequestSize = 1024;
    public const int MaxResponseSize = 512;

    private readonly string _directory = Directory.CreateTempSubdirectory("serve-parity-").FullName;
    private KestrelTestHost? _host;

    public HttpClient Client => _host!.Client;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "model-config.yaml"), "batchSize: 4\nmaxBatchDelay: 5\n");
        var builder = KestrelTestHost.CreateBuilder(_directory);
        builder.Services
            .AddServe(options =>
            {
                options.MaxRequestSize = MaxRequestSize;
                options.MaxResponseSize = MaxResponseSize;
                options.Models.Add(new ModelOptions { Name = "parity", Path = _directory });
            })
            .AddServeHandlers();
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
}

/// <summary>
/// The same good and bad requests through every protocol (TorchServe REST, KServe v1, the Open
/// Inference Protocol v2) get the same error kinds (status, and TorchServe's type where the
/// protocol writes it) and the same limits: they share one pipeline.
/// </summary>
public sealed class ProtocolParityTests(ParityServer server) : IClassFixture<ParityServer>
{
    public enum Protocol
    {
        TorchServe,
        KServeV1,
        OpenInference,
    }

    private static readonly Protocol[] Every = Enum.GetValues<Protocol>();

    [Theory]
    [InlineData("unknown model", "nope", null, "hello", false, 404, "ModelNotFoundException")]
    [InlineData("empty body", "parity", null, null, false, 400, "InvalidRequestException")]
    [InlineData("body over max_request_size", "parity", null, "LARGE", false, 413, "RequestTooLargeException")]
    [InlineData("input the handler refuses", "parity", null, "a bad input", false, 400, "InvalidRequestException")]
    [InlineData("inference that fails", "parity", null, "boom", false, 500, "InternalServerException")]
    [InlineData("answer over max_response_size", "parity", null, "big", false, 500, "InternalServerException")]
    [InlineData("unknown version", "parity", "9.9", "hello", false, 404, "ModelVersionNotFoundException")]
    [InlineData("explanation without an [Explain] stage", "parity", null, "hello", true, 501, "NotImplementedException")]
    public async Task A_bad_request_gets_the_same_error_kind_through_every_protocol(string what, string model, string? version, string? input, bool explain, int status, string type)
    {
        var protocols = Every
            .Where(p => version is null || p != Protocol.KServeV1)      // KServe v1 has no versions
            .Where(p => !explain || p != Protocol.OpenInference)        // nor does OIP explain
            .ToArray();
        Assert.True(protocols.Length >= 2, what);
        foreach (var protocol in protocols)
        {
            using var response = await server.Client.SendAsync(Infer(protocol, model, version, input == "LARGE" ? new string('a', 2 * ParityServer.MaxRequestSize) : input, explain));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(status == (int)response.StatusCode, $"{what} through {protocol}: {(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            if (protocol == Protocol.OpenInference)
            {
                Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error").GetString()), $"{what} through {protocol}: {body}");
            }
            else
            {
                Assert.Equal(status, json.RootElement.GetProperty("code").GetInt32());
                Assert.True(type == json.RootElement.GetProperty("type").GetString(), $"{what} through {protocol}: {body}");
            }
            if (what.Contains("max_response_size", StringComparison.Ordinal))
            {
                Assert.Contains($"more than max_response_size ({ParityServer.MaxResponseSize} bytes)", body);
            }
        }
    }

    [Fact]
    public async Task A_good_request_gets_the_handler_answer_through_every_protocol()
    {
        foreach (var protocol in Every)
        {
            using var response = await server.Client.SendAsync(Infer(protocol, "parity", null, "hello", explain: false));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{protocol}: {(int)response.StatusCode} {body}");
            var answer = protocol switch
            {
                Protocol.TorchServe => body,
                Protocol.KServeV1 => JsonDocument.Parse(body).RootElement.GetProperty("predictions")[0].GetString()!,
                _ => JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString()!,
            };
            // KServe v1 hands the handler each instance's JSON, so its input is the JSON string "hello".
            Assert.True(answer == (protocol == Protocol.KServeV1 ? "\"hello\"" : "hello"), $"{protocol}: {answer}");
        }
    }

    [Fact]
    public async Task KServe_v1_holds_the_whole_answer_to_max_response_size()
    {
        // Each instance answers within the limit; together they do not.
        var instance = new string('i', ParityServer.MaxResponseSize / 2);
        var body = JsonSerializer.Serialize(new { instances = new[] { instance, instance, instance } });
        using var response = await server.Client.PostAsync("/v1/models/parity:predict", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(500, (int)response.StatusCode);
        Assert.Contains("max_response_size", await response.Content.ReadAsStringAsync());
    }

    private static HttpRequestMessage Infer(Protocol protocol, string model, string? version, string? input, bool explain)
    {
        var (path, content) = protocol switch
        {
            Protocol.TorchServe => ($"/{(explain ? "explanations" : "predictions")}/{model}{(version is null ? "" : "/" + version)}",
                input is null ? null : new StringContent(input, Encoding.UTF8, "text/plain")),
            Protocol.KServeV1 => ($"/v1/models/{model}:{(explain ? "explain" : "predict")}",
                input is null ? null : Json(new { instances = new[] { input } })),
            _ => ($"/v2/models/{model}{(version is null ? "" : "/versions/" + version)}/infer",
                input is null ? null : Json(new { inputs = new[] { new { name = "in", datatype = "BYTES", shape = new[] { 1 }, data = new[] { input } } } })),
        };
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content ?? new ByteArrayContent([]) };
    }

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
