using System;
using System.Buffers;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Serve.Runtime.Http;

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

        // Read at most limit + 1 bytes: enough to know the body is too large without holding it all.
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 16 * 1024, limit + 1));
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

    private static Result Empty() => new([], InferenceResult.Error(400, "InvalidRequestException",
        "The request body is empty; send the model's input as the body, e.g. curl --data-binary @digit.png."));

    private static Result TooLarge(long limit) => new([], InferenceResult.Error(413, "RequestTooLargeException",
        $"The request body is larger than the server's limit of {limit} bytes (Serve:MaxRequestSize, TorchServe's max_request_size)."));
}
