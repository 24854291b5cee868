using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.Cli.Tests;

/// <summary>
/// The `serve` tool as a process serves TorchServe's gRPC API on grpc_inference_port: one Ping,
/// written as gRPC's wire format by hand (an HTTP/2 POST of a length-prefixed empty message), so
/// this project needs no gRPC client; the gRPC APIs themselves are tested in Serve.Grpc.Tests.
/// </summary>
public sealed class ServeGrpcProcessTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private Task<(int Code, string Output, string Error)> Serve(params string[] args) => ServeProcess.RunAsync(_temp, null, args);

    [Fact]
    public async Task Serve_start_answers_a_gRPC_ping_on_grpc_inference_port()
    {
        var grpc = FreePort.Next();
        File.WriteAllText(_temp["config.properties"], $"""
            inference_address=http://127.0.0.1:{FreePort.Next()}
            management_address=http://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            grpc_inference_port={grpc}
            grpc_management_port={FreePort.Next()}
            """);

        var started = await Serve("start", "--ts-config", "config.properties");
        Assert.True(started.Code == 0, started.Error);
        await ServeProcess.CheckThenStopAsync(_temp, async () =>
        {
            using var client = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{grpc}/org.pytorch.serve.grpc.inference.InferenceAPIsService/Ping")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent([0, 0, 0, 0, 0]), // not compressed, 0 bytes: google.protobuf.Empty
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");

            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
            // One message: TorchServeHealthResponse { health = "{ "status": "Healthy" }" } after its 5-byte prefix.
            Assert.Contains("\"status\": \"Healthy\"", Encoding.UTF8.GetString(body.AsSpan(5)));
        });
    }
}
