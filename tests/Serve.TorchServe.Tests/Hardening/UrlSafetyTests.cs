using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Serve.Archives;
using Serve.Tests;
using Serve.TorchServe.Http;

namespace Serve.TorchServe.Tests.Hardening;

/// <summary>
/// The default allowed_urls is safe without configuration (TorchServe's ShellTorch,
/// CVE-2023-43654): no loopback, private or link-local address, before and after DNS, no file://
/// outside the model store, no NUL; a failed or oversized download leaves no file (issue 23 item 9).
/// </summary>
public sealed class UrlSafetyTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private ModelUrlPolicy Defaults => new(null, _temp["store"]);

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("http://127.0.0.1:8081/models")]
    [InlineData("http://localhost/x.mar")]
    [InlineData("http://[::1]/x.mar")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.5/x.mar")]
    [InlineData("http://192.168.1.1/x.mar")]
    [InlineData("http://172.16.0.1/x.mar")]
    [InlineData("http://0.0.0.0:8080/x.mar")]
    [InlineData("http://[::ffff:127.0.0.1]/x.mar")]
    [InlineData("http://[fd00::1]/x.mar")]
    public void The_default_refuses_loopback_private_and_link_local_hosts(string url)
    {
        var error = Assert.Throws<ModelUrlRefusedException>(() => Defaults.Check(url));

        Assert.Contains("allowed_urls", error.Message);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("file:///does/not/exist.mar")]
    [InlineData("file:///tmp/fifo.mar")]
    public void The_default_refuses_files_outside_the_store_with_one_answer_whether_or_not_they_exist(string url)
    {
        var error = Assert.Throws<ModelUrlRefusedException>(() => Defaults.Check(url));

        // The same words for every path: nothing in the answer depends on the file system.
        Assert.Equal($"The url '{url}' is refused: under the default allowed_urls a file:// URL must name a file inside the model store; set allowed_urls to allow other paths.", error.Message);
    }

    [Fact]
    public void The_default_allows_public_hosts_and_files_of_the_store()
    {
        var remote = Defaults.Check("https://download.pytorch.org/models/x.mar");
        var local = Defaults.Check(new Uri(_temp["store/x.mar"]).AbsoluteUri);

        Assert.True(remote.IsRemote);
        Assert.True(remote.PublicAddressesOnly);
        Assert.Equal(_temp["store/x.mar"], local.Location);
    }

    [Fact]
    public void Configured_allowed_urls_reach_what_they_name()
    {
        var policy = new ModelUrlPolicy(["http://127\\.0\\.0\\.1:\\d+/.*"], null);

        Assert.False(policy.Check("http://127.0.0.1:9000/x.mar").PublicAddressesOnly);
        Assert.Null(TorchServeConfig.Parse("", "c").AllowedUrls);
    }

    [Theory]
    [InlineData("m.mar\0.txt")]
    [InlineData("m.mar%00.txt")]
    [InlineData("https://example.com/m.mar%00.txt")]
    [InlineData("m\u0001.mar")]
    public void A_nul_or_control_character_is_refused(string url)
    {
        var error = Assert.Throws<ModelUrlRefusedException>(() => Defaults.Check(url));

        Assert.Contains("NUL or control character", error.Message);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    public async Task A_download_to_a_name_or_address_that_is_not_public_is_refused_after_dns(string host)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var directory = _temp["download"];

        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            ArchiveDownload.FetchAsync($"http://{host}:{port}/x.mar", directory, 1 << 20, CancellationToken.None));

        Assert.Contains("not reach", error.ToString());
        Assert.False(listener.Pending()); // never connected
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
    }

    [Fact]
    public async Task An_oversized_download_is_deleted()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            _ = await stream.ReadAsync(new byte[4096]); // the request line and headers; their content does not matter
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"u8.ToArray());
            try
            {
                for (var i = 0; i < 64; i++)
                {
                    await stream.WriteAsync(new byte[64 << 10]);
                }
            }
            catch (IOException)
            {
                // the server hung up once past the bound
            }
        });
        var directory = _temp["download"];

        var error = await Assert.ThrowsAsync<ModelArchiveException>(() =>
            ArchiveDownload.FetchAsync($"http://127.0.0.1:{port}/big.mar", directory, 1 << 20, publicAddressesOnly: false, CancellationToken.None));
        await serving;

        Assert.Contains("max_archive_unpacked_size", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory));
    }
}
