using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;

namespace Serve.TorchServe;

/// <summary>Where a model to register comes from, once <see cref="ModelUrlPolicy"/> let it through.</summary>
/// <param name="Location">A local path (a file in the model store or a file:// URL) or an http(s) URL.</param>
/// <param name="IsRemote">True for an http(s) URL, which must be downloaded.</param>
internal sealed record ModelSource(string Location, bool IsRemote)
{
    /// <summary>True when the download may connect only to public addresses, checked after DNS (the default <c>allowed_urls</c>).</summary>
    public bool PublicAddressesOnly { get; init; }
}

/// <summary>
/// Decides whether <c>POST /models?url=</c> may register from a URL: <c>allowed_urls</c> as in
/// TorchServe (each pattern must match the whole URL), and none of the bypasses behind
/// CVE-2023-43654 and CVE-2024-35198: no <c>..</c> segment in any spelling, and a bare archive
/// name must stay inside the model store. Without <c>allowed_urls</c> (null) the defaults are safe
/// with no configuration: http(s) to public addresses only (checked again after DNS, by
/// <see cref="Http.ArchiveDownload"/>), and file:// only inside the model store.
/// </summary>
internal sealed class ModelUrlPolicy(IReadOnlyList<string>? allowedUrls, string? modelStore)
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
    private readonly Regex[] _allowed = [.. (allowedUrls ?? []).Select(p => new Regex($"^(?:{p})$", RegexOptions.CultureInvariant, MatchTimeout))];

    /// <summary>Checks <paramref name="url"/> and says where to read the model from.</summary>
    /// <exception cref="ModelUrlRefusedException">The URL is not allowed; the message says why.</exception>
    public ModelSource Check(string url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new ModelUrlRefusedException("The parameter url is required: an archive name in the model store or an allowed URL.");
        }
        if (HasParentSegment(url))
        {
            throw new ModelUrlRefusedException($"The url '{url}' is refused: it contains a '..' path segment.");
        }
        if (url.Contains('\0', StringComparison.Ordinal) || url.Contains("%00", StringComparison.Ordinal) || url.Any(char.IsControl))
        {
            throw new ModelUrlRefusedException($"The url '{Printable(url)}' is refused: it contains a NUL or control character.");
        }

        var hasScheme = url.Contains("://", StringComparison.Ordinal);
        if (hasScheme && allowedUrls is null)
        {
            return CheckByDefault(url);
        }
        if (hasScheme)
        {
            if (!_allowed.Any(pattern => Matches(pattern, url)))
            {
                throw new ModelUrlRefusedException($"The url '{url}' is refused: it matches none of allowed_urls ({string.Join(", ", allowedUrls!)}).");
            }
            if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                return new ModelSource(url, IsRemote: true);
            }
            if (url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(url, UriKind.Absolute, out var file) && file.IsFile)
            {
                return new ModelSource(file.LocalPath, IsRemote: false);
            }
            throw new ModelUrlRefusedException($"The url '{url}' is refused: only http://, https:// and file:// URLs can be registered from.");
        }

        if (modelStore is null)
        {
            throw new ModelUrlRefusedException($"The url '{url}' names no scheme and no model store is configured (model_store).");
        }
        var store = Path.GetFullPath(modelStore) + Path.DirectorySeparatorChar;
        var path = Path.GetFullPath(Path.Combine(store, url));
        if (Path.IsPathRooted(url) || !path.StartsWith(store, StringComparison.Ordinal))
        {
            throw new ModelUrlRefusedException($"The url '{url}' is refused: an archive name must name a file inside the model store.");
        }
        return new ModelSource(path, IsRemote: false);
    }

    // Without allowed_urls: public http(s) hosts, and files of the model store. Decided from the URL
    // alone, before any file is looked at, so the answer never tells whether a file exists elsewhere.
    private ModelSource CheckByDefault(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new ModelUrlRefusedException($"The url '{url}' is refused: it is not a valid URL.");
        }
        if (uri.Scheme is "http" or "https")
        {
            if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && !NetworkAddresses.IsPublic(address) || uri.IsLoopback)
            {
                throw new ModelUrlRefusedException(
                    $"The url '{url}' is refused: {uri.Host} is a loopback, private or link-local address, which the default allowed_urls does not reach; name it in allowed_urls to allow it.");
            }
            return new ModelSource(url, IsRemote: true) { PublicAddressesOnly = true };
        }
        if (uri.IsFile && modelStore is not null)
        {
            var store = Path.GetFullPath(modelStore) + Path.DirectorySeparatorChar;
            var path = Path.GetFullPath(uri.LocalPath);
            if (path.StartsWith(store, StringComparison.Ordinal))
            {
                return new ModelSource(path, IsRemote: false);
            }
        }
        if (uri.IsFile)
        {
            throw new ModelUrlRefusedException(
                $"The url '{url}' is refused: under the default allowed_urls a file:// URL must name a file inside the model store; set allowed_urls to allow other paths.");
        }
        throw new ModelUrlRefusedException($"The url '{url}' is refused: only http://, https:// and file:// URLs can be registered from.");
    }

    private static string Printable(string url) => new([.. url.Select(c => char.IsControl(c) ? '?' : c)]);

    private static bool Matches(Regex pattern, string url)
    {
        try
        {
            return pattern.IsMatch(url);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    // "..", percent-encoded ("%2e%2e", "%2E."), or between backslashes: every spelling a server or
    // file system might later read as the parent directory.
    private static bool HasParentSegment(string url)
    {
        var decoded = url;
        for (var i = 0; i < 3 && decoded.Contains('%'); i++)
        {
            decoded = Uri.UnescapeDataString(decoded);
        }
        var path = decoded.Split('?', '#')[0];
        return path.Split('/', '\\').Any(segment => segment.Trim() == "..");
    }
}

/// <summary>A registration URL refused by <see cref="ModelUrlPolicy"/> (HTTP 400 in the management API).</summary>
internal sealed class ModelUrlRefusedException(string message) : Exception(message);
