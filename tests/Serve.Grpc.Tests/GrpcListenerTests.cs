using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Org.Pytorch.Serve.Grpc.Management;
using Serve.TorchServe;
using InferenceClient = Org.Pytorch.Serve.Grpc.Inference.InferenceAPIsService.InferenceAPIsServiceClient;

namespace Serve.Grpc.Tests;

/// <summary>The gRPC listeners as config.properties sets them up: TLS, ports that clash, token authorization off.</summary>
public sealed class GrpcListenerTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "serve-grpc-listener-tests-" + Guid.NewGuid().ToString("N"));

    public GrpcListenerTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private WebApplication Build(string config) =>
        TorchServeHost.Build(TorchServeConfig.Parse(config, "test config.properties"), [],
            services => services.AddTorchServeGrpc(), TextWriter.Null, Path.Combine(_directory, "work"), Path.Combine(_directory, "key_file.json"));

    private static string RestAddresses() => $"""
        inference_address=http://127.0.0.1:{Free()}
        management_address=http://127.0.0.1:{Free()}
        metrics_address=http://127.0.0.1:{Free()}
        """;

    private static int Free()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task With_enable_grpc_ssl_both_listeners_speak_TLS_with_the_configured_certificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(_directory, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        await using var app = Build($"""
            {RestAddresses()}
            grpc_inference_port=0
            grpc_management_port=0
            enable_grpc_ssl=true
            certificate_file={Path.Combine(_directory, "cert.pem")}
            private_key_file={Path.Combine(_directory, "key.pem")}
            disable_token_authorization=true
            """);
        await app.StartAsync();
        var listeners = app.Services.GetRequiredService<GrpcListeners>();
        var trusting = new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString() } },
        };
        using var inference = GrpcChannel.ForAddress($"https://{listeners.InferenceEndPoint}", trusting);
        using var management = GrpcChannel.ForAddress($"https://{listeners.ManagementEndPoint}", trusting);
        using var plain = GrpcChannel.ForAddress($"http://{listeners.InferenceEndPoint}");

        var health = await new InferenceClient(inference).PingAsync(new Empty());
        var models = await new ManagementAPIsService.ManagementAPIsServiceClient(management).ListModelsAsync(new ListModelsRequest());
        var cleartext = await Assert.ThrowsAsync<RpcException>(() => new InferenceClient(plain).PingAsync(new Empty(), deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
        await app.StopAsync();

        Assert.Contains("Healthy", health.Health);
        Assert.Contains("\"models\": []", models.Msg);
        Assert.Equal(StatusCode.Unavailable, cleartext.StatusCode);
    }

    [Fact]
    public async Task With_token_authorization_off_every_call_is_answered_without_a_key()
    {
        await using var app = Build($"{RestAddresses()}\ngrpc_inference_port=0\ngrpc_management_port=0\ndisable_token_authorization=true");
        await app.StartAsync();
        var listeners = app.Services.GetRequiredService<GrpcListeners>();
        using var management = GrpcChannel.ForAddress($"http://{listeners.ManagementEndPoint}");

        var models = await new ManagementAPIsService.ManagementAPIsServiceClient(management).ListModelsAsync(new ListModelsRequest());
        await app.StopAsync();

        Assert.Contains("\"models\": []", models.Msg);
    }

    [Fact]
    public async Task Without_enable_model_api_register_and_unregister_are_FAILED_PRECONDITION_as_RESTs_405()
    {
        await using var app = Build($"{RestAddresses()}\ngrpc_inference_port=0\ngrpc_management_port=0\ndisable_token_authorization=true");
        await app.StartAsync();
        using var management = GrpcChannel.ForAddress($"http://{app.Services.GetRequiredService<GrpcListeners>().ManagementEndPoint}");
        var client = new ManagementAPIsService.ManagementAPIsServiceClient(management);

        var register = await Assert.ThrowsAsync<RpcException>(() => client.RegisterModelAsync(new RegisterModelRequest { Url = "a.mar" }).ResponseAsync);
        var unregister = await Assert.ThrowsAsync<RpcException>(() => client.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "a" }).ResponseAsync);
        await app.StopAsync();

        Assert.All([register, unregister], e => Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode));
        Assert.EndsWith("(Registering and unregistering models is off; set enable_model_api=true.)", register.Status.Detail);
    }

    [Theory]
    [InlineData("grpc_inference_port={inference}", "grpc_inference_port={inference} is also the port of inference_address (http://127.0.0.1:{inference}/): give each API its own port.")]
    [InlineData("grpc_inference_port={free}\ngrpc_management_port={free}", "grpc_inference_port and grpc_management_port are both {free}: give each API its own port.")]
    public async Task A_gRPC_port_that_another_API_has_stops_the_start_with_a_message_naming_both(string ports, string expected)
    {
        int inference = Free(), free = Free();
        string Fill(string text) => text.Replace("{inference}", inference.ToString()).Replace("{free}", free.ToString());
        await using var app = Build($"""
            inference_address=http://127.0.0.1:{inference}
            management_address=http://127.0.0.1:{Free()}
            metrics_address=http://127.0.0.1:{Free()}
            {Fill(ports)}
            """);

        var e = await Assert.ThrowsAsync<IOException>(() => app.StartAsync());

        Assert.Equal(Fill(expected), e.Message);
    }
}
