using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Serve.Archives;

namespace Serve.TorchServe.Http;

/// <summary>
/// Fetches an archive that <c>POST /models?url=http(s)://...</c> names. Redirects are not followed
/// (a redirect would lead past <c>allowed_urls</c>), the download is bounded by the unpacked-size
/// bound, and a download that fails is deleted. Under the default <c>allowed_urls</c> it connects
/// only to public addresses, checked on the addresses DNS returned (so a name that resolves to
/// 127.0.0.1 or 169.254.169.254 is refused), with no proxy in between.
/// </summary>
internal static class ArchiveDownload
{
    private static readonly HttpClient Client = NewClient(publicAddressesOnly: false);
    private static readonly HttpClient PublicClient = NewClient(publicAddressesOnly: true);

    /// <summary>Downloads <paramref name="url"/> into <paramref name="directory"/> and returns the file's path; public addresses only.</summary>
    /// <exception cref="ModelArchiveException">The server did not answer 200, or sent more than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="HttpRequestException">The connection failed, or the host resolves to an address that is not public.</exception>
    public static Task<string> FetchAsync(string url, string directory, long maxBytes, CancellationToken cancellationToken) =>
        FetchAsync(url, directory, maxBytes, publicAddressesOnly: true, cancellationToken);

    /// <summary>Downloads <paramref name="url"/> into <paramref name="directory"/> and returns the file's path.</summary>
    /// <exception cref="ModelArchiveException">The server did not answer 200, or sent more than <paramref name="maxBytes"/>.</exception>
    /// <exception cref="HttpRequestException">The connection failed, or (with <paramref name="publicAddressesOnly"/>) the host resolves to an address that is not public.</exception>
    public static async Task<string> FetchAsync(string url, string directory, long maxBytes, bool publicAddressesOnly, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        var name = Path.GetFileName(uri.AbsolutePath);
        if (!name.EndsWith(".mar", StringComparison.OrdinalIgnoreCase) && !name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) && !name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)
            || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            name = "model.mar";
        }
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        try
        {
            await DownloadAsync(publicAddressesOnly ? PublicClient : Client, uri, url, path, maxBytes, cancellationToken).ConfigureAwait(false);
            return path;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    private static async Task DownloadAsync(HttpClient client, Uri uri, string url, string path, long maxBytes, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var redirect = response.Headers.Location is { } location ? $" (a redirect to '{location}', which is not followed: name the final URL)" : "";
            throw new ModelArchiveException($"Downloading '{url}' failed: the server answered {(int)response.StatusCode}{redirect}.");
        }
        if (response.Content.Headers.ContentLength > maxBytes)
        {
            throw new ModelArchiveException($"Downloading '{url}' refused: it is {response.Content.Headers.ContentLength} bytes; the limit is {maxBytes} bytes (max_archive_unpacked_size).");
        }

        await using var input = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var output = File.Create(path);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > maxBytes)
            {
                throw new ModelArchiveException($"Downloading '{url}' stopped: it is more than {maxBytes} bytes (max_archive_unpacked_size).");
            }
            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
    }

    private static HttpClient NewClient(bool publicAddressesOnly)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        if (publicAddressesOnly)
        {
            handler.UseProxy = false; // a proxy would connect on our behalf, past the address check
            handler.ConnectCallback = ConnectToPublicAddressAsync;
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(10) };
    }

    // Resolves the host once and connects to exactly what was checked: no second lookup that a
    // rebinding DNS server could answer differently.
    private static async ValueTask<Stream> ConnectToPublicAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.FirstOrDefault(address => !NetworkAddresses.IsPublic(address)) is { } refused)
        {
            throw new HttpRequestException(
                $"{host} resolves to {refused}, a loopback, private or link-local address, which the default allowed_urls does not reach; name the URL in allowed_urls to allow it");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
