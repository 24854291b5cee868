using System;
using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Handlers.Vision;

/// <summary>
/// The image bytes a request carries, in the forms TorchServe's VisionHandler takes: the raw
/// image as the body, or a base64 string, alone as a JSON string or as the "data" (or "body")
/// member of a JSON object; also KServe v1's binary form <c>{"b64": ...}</c>, which arrives here
/// as one instance of <c>{"instances": [...]}</c> (the server's KServe v1 endpoint splits them).
/// A <c>text/*</c> body that is UTF-8 is base64 text, as TorchServe's worker hands it to the handler
/// as a string, which VisionHandler base64-decodes (an image sent as text/plain is not UTF-8 and
/// stays bytes, there as here).
/// </summary>
public static class ImageRequest
{
    public static ReadOnlyMemory<byte> ImageBytes(InferenceRequest request)
    {
        var body = request.Body;
        var first = FirstNonWhitespace(body.Span);
        if (first is not ((byte)'"' or (byte)'{'))
        {
            return IsText(request.ContentType) && Utf8.IsValid(body.Span) ? Base64Text(body.Span, request.ContentType!) : body;
        }
        string? base64;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            base64 = root.ValueKind switch
            {
                JsonValueKind.String => root.GetString(),
                JsonValueKind.Object when Member(root, "data") is { } data => data,
                JsonValueKind.Object when Member(root, "body") is { } inner => inner,
                JsonValueKind.Object when Member(root, "b64") is { } b64 => b64,
                _ => throw new InvalidRequestException(
                    "The JSON body has no image: send {\"data\": \"<base64 image>\"} (or \"b64\"), a base64 JSON string, or the image bytes themselves."),
            };
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException($"The body starts like JSON but is not valid JSON: {e.Message}", e);
        }
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(base64!.Length)];
        if (!Convert.TryFromBase64String(base64, bytes, out var written))
        {
            throw new InvalidRequestException("The image in the JSON body is not valid base64.");
        }
        return bytes.AsMemory(0, written);
    }

    private static bool IsText(string? contentType) =>
        contentType is not null && contentType.TrimStart().StartsWith("text/", StringComparison.OrdinalIgnoreCase);

    /// <summary>A base64 text body; white space (line breaks every 76 characters, a final newline) is skipped, as Python's b64decode skips it.</summary>
    private static ReadOnlyMemory<byte> Base64Text(ReadOnlySpan<byte> text, string contentType)
    {
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (Base64.DecodeFromUtf8(text, bytes, out _, out var written) != OperationStatus.Done)
        {
            // The strict decoder stops at white space; Convert's skips it.
            var chars = Encoding.ASCII.GetString(text);
            if (!Convert.TryFromBase64String(chars, bytes, out written))
            {
                throw new InvalidRequestException(
                    $"The body is sent as {contentType.Split(';')[0].Trim()}, so it is read as a base64 image (as TorchServe reads it), but it is not valid base64: send the image bytes as application/octet-stream or image/*, or the base64 text.");
            }
        }
        return bytes.AsMemory(0, written);
    }

    private static string? Member(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.String ? value.GetString()
                : throw new InvalidRequestException($"The JSON body's \"{name}\" must be a base64 string of an image, not {value.ValueKind}.")
            : null;

    private static int FirstNonWhitespace(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b;
            }
        }
        return -1;
    }
}
