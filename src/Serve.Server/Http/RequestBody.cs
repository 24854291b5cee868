using System;
using System.Buffers;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>Reads a request body whole, refusing an empty one and one over the size limit.</summary>
internal static class RequestBody
{
    public readonly record struct Result(byte[] Bytes, InferenceResult? Error);

    public static async Task<Result> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
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
        if (request.ContentType is { } contentType && contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return await ReadFormAsync(request, limit, cancellationToken).ConfigureAwait(false);
        }

        if (request.ContentLength is { } length)
        {
            // The usual case: the length is known, so read straight into the request's own array.
            var bytes = new byte[length];
            try
            {
                await request.Body.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                return new([], InferenceResult.Error(400, "InvalidRequestException", $"The request body ended before its Content-Length of {length} bytes."));
            }
            return new Result(bytes, null);
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
        return buffer.WrittenCount == 0 ? Empty() : new Result(buffer.WrittenSpan.ToArray(), null);
    }

    /// <summary>
    /// A form upload (<c>curl -F data=@kitten.jpg</c>), as TorchServe takes it: the part named
    /// "data" or "body", else the first file, else the first field.
    /// </summary>
    private static async Task<Result> ReadFormAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        IFormCollection form;
        try
        {
            var options = new FormOptions { MultipartBodyLengthLimit = limit, ValueLengthLimit = (int)Math.Min(limit, int.MaxValue) };
            form = await request.ReadFormAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return TooLarge(limit);
        }
        catch (InvalidDataException e)
        {
            return new([], InferenceResult.Error(400, "InvalidRequestException", $"The form body is malformed: {e.Message}"));
        }

        var file = form.Files.GetFile("data") ?? form.Files.GetFile("body") ?? (form.Files.Count > 0 ? form.Files[0] : null);
        if (file is not null)
        {
            var bytes = new byte[file.Length];
            await using (var stream = file.OpenReadStream())
            {
                await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
            return bytes.Length == 0 ? Empty() : new Result(bytes, null);
        }
        var value = form.TryGetValue("data", out var data) ? data.ToString()
            : form.TryGetValue("body", out var body) ? body.ToString()
            : form.Count > 0 ? form.First().Value.ToString() : "";
        return value.Length == 0 ? Empty() : new Result(System.Text.Encoding.UTF8.GetBytes(value), null);
    }

    private static Result Empty() => new([], InferenceResult.Error(400, "InvalidRequestException",
        "The request body is empty; send the model's input as the body, e.g. curl --data-binary @digit.png."));

    private static Result TooLarge(long limit) => new([], InferenceResult.Error(413, "RequestTooLargeException",
        $"The request body is larger than the server's limit of {limit} bytes (Serve:MaxRequestSize, TorchServe's max_request_size)."));
}
