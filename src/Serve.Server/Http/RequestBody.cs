using System;
using System.Buffers;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// Reads a request body whole. The size limit applies to the body as sent, however it is framed
/// (Content-Length, chunked, multipart); a form upload is then parsed from memory by
/// <see cref="MultipartForm"/>. A body the client breaks off, sends too slowly or frames badly is
/// that client's error, answered and counted, never a server fault.
/// </summary>
internal static class RequestBody
{
    /// <summary>The body, or why it was refused; <paramref name="Pooled"/> owns <paramref name="Bytes"/> when it was read into a pooled array.</summary>
    public readonly record struct Result(ReadOnlyMemory<byte> Bytes, RequestError? Error, PooledBody? Pooled = null);

    /// <summary>Reads the body; with <paramref name="pooled"/>, a body of known length up to <see cref="PooledBody.MaxPooledLength"/> goes into a pooled array the caller releases.</summary>
    public static async Task<Result> ReadAsync(HttpRequest request, long limit, FormLimits formLimits, bool pooled, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return TooLarge(limit);
        }
        if (request.ContentLength == 0)
        {
            return Empty();
        }

        // Only multipart is a form upload: curl -d and --data-binary label any body
        // application/x-www-form-urlencoded, and that body is the model's input as sent.
        string? boundary = null;
        if (request.ContentType is { } contentType && contentType.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
        {
            if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType) || mediaType.Boundary.Length == 0)
            {
                return new(default, RequestError.Invalid($"The Content-Type '{contentType}' is not a multipart type with a boundary, e.g. multipart/form-data; boundary=x."));
            }
            boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).ToString();
            if (boundary.Length > MultipartForm.MaxBoundaryLength)
            {
                return new(default, RequestError.Invalid($"The multipart boundary is {boundary.Length} characters; RFC 2046 allows 1 to {MultipartForm.MaxBoundaryLength}."));
            }
        }

        Result whole;
        try
        {
            whole = await ReadWholeAsync(request, limit, pooled, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's verdict on the framing: a bad chunk (400), a body over its own cap (413),
            // a body sent slower than MinRequestBodyDataRate (408).
            ClientErrors.Record(request.HttpContext, "body", e.StatusCode, e.Message);
            return new(default, new RequestError(HttpInference.Kind(e.StatusCode), e.Message));
        }
        catch (IOException e) when (e.InnerException is OverflowException)
        {
            // Kestrel's answer to a chunk size past 2^31 (ffffffffffffffffffff): an IOException, not its BadHttpRequestException.
            ClientErrors.Record(request.HttpContext, "body", 400, e.Message);
            return new(default, RequestError.Invalid($"The chunked body is malformed: {e.Message}"));
        }
        catch (Exception e) when (e is ConnectionResetException or IOException or OperationCanceledException && request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            ClientErrors.Record(request.HttpContext, "aborted", 499, e.Message);
            return new(default, RequestError.Invalid("The client closed the connection before sending the whole body."));
        }
        if (whole.Error is not null || boundary is null)
        {
            return whole;
        }

        var (part, error) = MultipartForm.Read(whole.Bytes, boundary, formLimits);
        if (error is not null || part.IsEmpty)
        {
            whole.Pooled?.Release();
            return error is not null ? new(default, error) : Empty();
        }
        return new(part, null, whole.Pooled);
    }

    private static async Task<Result> ReadWholeAsync(HttpRequest request, long limit, bool pooled, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } length)
        {
            // The usual case: the length is known, so read straight into the request's own array.
            var owner = pooled && length <= PooledBody.MaxPooledLength ? PooledBody.Rent((int)length) : null;
            var bytes = owner?.Memory ?? new byte[length];
            try
            {
                await request.Body.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                owner?.Release();
                if (e is EndOfStreamException)
                {
                    return new(default, RequestError.Invalid($"The request body ended before its Content-Length of {length} bytes."));
                }
                throw;
            }
            return new(bytes, null, owner);
        }

        // Chunked: read at most limit + 1 bytes: enough to know the body is too large without holding it all.
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var read = await request.Body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return TooLarge(limit);
            }
        }
        return buffer.WrittenCount == 0 ? Empty() : new(buffer.WrittenSpan.ToArray(), null);
    }

    private static Result Empty() => new(default, RequestError.Invalid(
        "The request body is empty; send the model's input as the body, e.g. curl --data-binary @digit.png."));

    private static Result TooLarge(long limit) => new(default, new RequestError(InferenceErrorKind.RequestTooLarge,
        $"The request body is larger than the server's limit of {limit} bytes (Serve:MaxRequestSize, TorchServe's max_request_size)."));
}
