using System;
using System.Buffers.Text;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Handlers.Vision;

/// <summary>
/// The image bytes a request carries, in the forms TorchServe's VisionHandler takes: the raw
/// image as the body, or a base64 string, alone as a JSON string or as the "data" (or "body")
/// member of a JSON object; also KServe v1's binary form <c>{"b64": ...}</c>, which arrives here
/// as one instance of <c>{"instances": [...]}</c> (the server's KServe v1 endpoint splits them).
/// </summary>
public static class ImageRequest
{
    public static ReadOnlyMemory<byte> ImageBytes(InferenceRequest request)
    {
        var body = request.Body;
        var first = FirstNonWhitespace(body.Span);
        if (first is not ((byte)'"' or (byte)'{'))
        {
            return body;
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
