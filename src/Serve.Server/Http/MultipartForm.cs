using System;
using System.Text;

namespace Serve.Server.Http;

/// <summary>
/// Reads a <c>multipart/form-data</c> body (RFC 7578 over RFC 2046) that is already in memory,
/// and picks the part TorchServe would: the one named "data" or "body", else the first file,
/// else the first field. Every way the body can be wrong is its own <see cref="RequestError"/>.
/// </summary>
internal static class MultipartForm
{
    /// <summary>RFC 2046: a boundary is 1 to 70 characters.</summary>
    public const int MaxBoundaryLength = 70;

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>The chosen part's bytes, or the error that refuses the body.</summary>
    public static (ReadOnlyMemory<byte> Part, RequestError? Error) Read(ReadOnlyMemory<byte> body, string boundary, FormLimits limits)
    {
        if (boundary.Length is 0 or > MaxBoundaryLength)
        {
            return (default, RequestError.Invalid($"The multipart boundary is {boundary.Length} characters; RFC 2046 allows 1 to {MaxBoundaryLength}."));
        }
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var span = body.Span;

        // The first delimiter starts the body or a line; what comes before it is a preamble to ignore.
        var position = span.StartsWith(delimiter) ? 0 : IndexOfLineStart(span, delimiter, 0);
        if (position < 0)
        {
            return (default, RequestError.Invalid($"The multipart body does not contain the boundary '{boundary}' its Content-Type names."));
        }

        ReadOnlyMemory<byte>? named = null, firstFile = null, firstField = null;
        var parts = 0;
        while (true)
        {
            position += delimiter.Length;
            var rest = span[position..];
            if (rest.StartsWith("--"u8))
            {
                break; // The close delimiter: an epilogue after it is ignored.
            }
            var lineEnd = rest.IndexOf(Crlf);
            if (lineEnd < 0 || rest[..lineEnd].Trim(" \t"u8).Length != 0)
            {
                return (default, RequestError.Invalid($"The multipart boundary '{boundary}' is not followed by a line break; the body is malformed."));
            }
            position += lineEnd + Crlf.Length;

            if (++parts > limits.MaxParts)
            {
                return (default, RequestError.Invalid($"The form has more than {limits.MaxParts} parts (Serve:MaxFormParts)."));
            }

            // Headers end at an empty line; bounded before searching further.
            var headersEnd = span[position..].IndexOf("\r\n\r\n"u8);
            var headersLength = headersEnd < 0 ? span.Length - position : headersEnd;
            if (headersLength > limits.MaxPartHeaderSize)
            {
                return (default, RequestError.Invalid($"Part {parts} of the form has headers larger than {limits.MaxPartHeaderSize} bytes (Serve:MaxFormPartHeaderSize)."));
            }
            if (span[position..].StartsWith(Crlf))
            {
                headersEnd = -2; // No headers at all: the part starts with its empty line.
            }
            else if (headersEnd < 0)
            {
                return (default, RequestError.Invalid($"Part {parts} of the form ends inside its headers; the body is truncated or malformed."));
            }
            var headers = span.Slice(position, Math.Max(0, headersEnd));
            position += headersEnd + 4;

            var contentEnd = IndexOfLineStart(span, delimiter, position);
            if (contentEnd < 0)
            {
                return (default, RequestError.Invalid($"The multipart body has no closing boundary '--{boundary}--'; it is truncated or malformed."));
            }
            var content = body[position..(contentEnd - Crlf.Length)];
            var (name, isFile) = Disposition(headers);
            if (named is null && name is "data" or "body")
            {
                named = content;
            }
            if (isFile)
            {
                firstFile ??= content;
            }
            else
            {
                firstField ??= content;
            }
            position = contentEnd;
        }

        var part = named ?? firstFile ?? firstField;
        return part is { } chosen ? (chosen, null) : (default, RequestError.Invalid("The form has no parts; send the input as a part named \"data\"."));
    }

    /// <summary>Where <paramref name="delimiter"/> next starts a line (follows CRLF) at or after <paramref name="from"/>; -1 if nowhere.</summary>
    private static int IndexOfLineStart(ReadOnlySpan<byte> span, ReadOnlySpan<byte> delimiter, int from)
    {
        var searched = from;
        while (searched < span.Length)
        {
            var found = span[searched..].IndexOf(delimiter);
            if (found < 0)
            {
                return -1;
            }
            var at = searched + found;
            if (at - from >= 2 && span[at - 2] == '\r' && span[at - 1] == '\n')
            {
                return at;
            }
            searched = at + 1;
        }
        return -1;
    }

    /// <summary>The part's name and whether it is a file, from its Content-Disposition header.</summary>
    private static (string? Name, bool IsFile) Disposition(ReadOnlySpan<byte> headers)
    {
        foreach (var range in headers.Split(Crlf))
        {
            var line = Encoding.UTF8.GetString(headers[range]);
            var colon = line.IndexOf(':');
            if (colon < 0 || !line.AsSpan(0, colon).Trim().Equals("Content-Disposition", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            string? name = null;
            var isFile = false;
            foreach (var parameter in line[(colon + 1)..].Split(';', StringSplitOptions.TrimEntries))
            {
                var equals = parameter.IndexOf('=');
                if (equals < 0)
                {
                    continue;
                }
                var key = parameter[..equals].Trim();
                var value = parameter[(equals + 1)..].Trim().Trim('"');
                if (key.Equals("name", StringComparison.OrdinalIgnoreCase))
                {
                    name = value;
                }
                else if (key.StartsWith("filename", StringComparison.OrdinalIgnoreCase))
                {
                    isFile = true;
                }
            }
            return (name, isFile);
        }
        return (null, false);
    }
}

/// <summary>Limits on a form upload, from the "Serve" configuration section.</summary>
public readonly record struct FormLimits(int MaxParts, int MaxPartHeaderSize)
{
    public static FormLimits Default => new(ServeOptions.DefaultMaxFormParts, ServeOptions.DefaultMaxFormPartHeaderSize);
}
