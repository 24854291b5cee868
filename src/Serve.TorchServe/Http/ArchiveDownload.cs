using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Serve.Archives;

namespace Serve.TorchServe.Http;

/// <summary>
/// Fetches an archive that <c>POST /models?url=http(s)://...</c> names. Redirects are not followed
/// (a redirect would lead past <c>allowed_urls</c>), and the download is bounded by the unpacked-size bound.
/// </summary>
internal static class ArchiveDownload
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        Timeout = TimeSpan.FromMinutes(10),
    };

    /// <summary>Downloads <paramref name="url"/> into <paramref name="directory"/> and returns the file's path.</summary>
    /// <exception cref="ModelArchiveException">The server did not answer 200, or sent more than <paramref name="maxBytes"/>.</exception>
    public static async Task<string> FetchAsync(string url, string directory, long maxBytes, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        var name = Path.GetFileName(uri.AbsolutePath);
        if (!name.EndsWith(".mar", StringComparison.OrdinalIgnoreCase) && !name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) && !name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase))
        {
            name = "model.mar";
        }
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);

        using var response = await Client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
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
        return path;
    }
}
