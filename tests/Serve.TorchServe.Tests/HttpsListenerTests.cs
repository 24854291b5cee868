using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>https listeners from TorchServe's keys: a PEM pair or a PKCS12 keystore, made in the test, over 127.0.0.1.</summary>
public sealed class HttpsListenerTests : IDisposable
{
    private readonly TempDirectory _keys = new();
    private readonly X509Certificate2 _certificate;

    public HttpsListenerTests()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(_keys["cert.pem"], _certificate.ExportCertificatePem());
        File.WriteAllText(_keys["key.pem"], key.ExportPkcs8PrivateKeyPem());
        File.WriteAllBytes(_keys["keystore.p12"], _certificate.Export(X509ContentType.Pkcs12, "s3cret"));
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _keys.Dispose();
    }

    /// <summary>A client that trusts exactly the test's certificate.</summary>
    private HttpClient TrustingClient() => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == _certificate.Thumbprint,
    });

    [Theory]
    [InlineData("pem")]
    [InlineData("keystore")]
    public async Task Inference_and_management_answer_over_https(string form)
    {
        var keys = form == "pem"
            ? $"certificate_file={_keys["cert.pem"]}\nprivate_key_file={_keys["key.pem"]}"
            : $"keystore={_keys["keystore.p12"]}\nkeystore_pass=s3cret\nkeystore_type=PKCS12";
        await using var server = await EchoServer.StartAsync(keys, scheme: "https");
        using var client = TrustingClient();

        using var prediction = await client.PostAsync(new Uri(server.Config.InferenceAddress, "/predictions/sized"), new StringContent("4"));
        using var models = await client.GetAsync(new Uri(server.Config.ManagementAddress, "/models"));

        Assert.Equal("https", server.Config.InferenceAddress.Scheme);
        Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
        Assert.Equal("xxxx", await prediction.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        using var untrusting = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(new Uri(server.Config.InferenceAddress, "/ping")));
    }

    [Fact]
    public void The_readiness_probe_of_serve_start_trusts_the_configured_certificate_only()
    {
        var config = TorchServeConfig.Parse($"inference_address=https://127.0.0.1:1\nkeystore={_keys["keystore.p12"]}\nkeystore_pass=s3cret", "test");

        using var handler = (SocketsHttpHandler)TorchServeHost.ReadinessProbeHandler(config);
        var check = handler.SslOptions.RemoteCertificateValidationCallback!;

        Assert.True(check(this, _certificate, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
        using var other = new CertificateRequest("CN=other", RSA.Create(2048), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.False(check(this, other, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Theory]
    [InlineData("", "An https address needs a certificate: set keystore (PKCS12, with keystore_pass) or certificate_file and private_key_file (PEM)")]
    [InlineData("certificate_file={dir}/missing.pem\nprivate_key_file={dir}/key.pem", "certificate_file={dir}/missing.pem: no such file")]
    [InlineData("certificate_file={dir}/key.pem\nprivate_key_file={dir}/cert.pem", "certificate_file={dir}/key.pem with private_key_file={dir}/cert.pem is not a PEM certificate and its matching private key")]
    [InlineData("keystore={dir}/keystore.p12\nkeystore_pass=wrong", "keystore={dir}/keystore.p12 cannot be read as PKCS12 with keystore_pass")]
    [InlineData("keystore={dir}/cert.pem", "keystore={dir}/cert.pem cannot be read as PKCS12 with keystore_pass")]
    public void A_missing_or_bad_certificate_is_a_clear_start_error(string keys, string expected)
    {
        var config = TorchServeConfig.Parse($"inference_address=https://127.0.0.1:1\n{keys.Replace("{dir}", _keys.Path)}", "test");

        var error = Assert.Throws<ConfigPropertiesException>(() => ListenerCertificate.Load(config).Dispose());

        Assert.Contains(expected.Replace("{dir}", _keys.Path), error.Message);
    }

    [Fact]
    public void A_keystore_type_other_than_PKCS12_is_refused_with_the_way_out()
    {
        var error = Assert.Throws<ConfigPropertiesException>(() => TorchServeConfig.Parse("keystore_type=JKS", "test"));

        Assert.Contains("keystore_type=JKS is not PKCS12", error.Message);
        Assert.Contains("keytool -importkeystore -deststoretype PKCS12", error.Message);
    }
}
