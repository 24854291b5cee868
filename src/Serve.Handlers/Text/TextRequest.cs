using System;
using System.Text;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>
/// The text a request carries, in the forms TorchServe's text handlers take: the body itself as
/// UTF-8 text, or a JSON string, or a JSON object's "data" (or "body") string. A body that starts
/// like JSON but does not parse is text, unless the request says it is JSON.
/// </summary>
public static class TextRequest
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <exception cref="InvalidRequestException">Invalid UTF-8, a JSON body without a text, or no text at all.</exception>
    public static string Text(InferenceRequest request)
    {
        var body = request.Body;
        if (body.Span.StartsWith("\uFEFF"u8))
        {
            body = body[3..];
        }
        var text = LooksLikeJson(body.Span) && JsonText(body, IsJson(request.ContentType)) is { } json ? json : Decode(body.Span);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidRequestException("The text is empty: send the text to classify as the body (UTF-8), or as {\"data\": \"...\"}.");
        }
        return text;
    }

    private static string Decode(ReadOnlySpan<byte> body)
    {
        try
        {
            return StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException e)
        {
            var bad = e.BytesUnknown is { Length: > 0 } bytes ? $"0x{bytes[0]:X2}" : "a byte";
            throw new InvalidRequestException($"The body is not valid UTF-8: {bad} at byte {Math.Max(e.Index, 0)} cannot be decoded. Send the text as UTF-8.", e);
        }
    }

    /// <summary>
    /// The text in a JSON body, or null when the body is not JSON (as a whole: <c>"quoted" he said</c>
    /// is text) and the request did not say it was.
    /// </summary>
    private static string? JsonText(ReadOnlyMemory<byte> body, bool declaredJson)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return root.ValueKind switch
            {
                JsonValueKind.String => root.GetString(),
                JsonValueKind.Object when Member(root, "data") is { } data => data,
                JsonValueKind.Object when Member(root, "body") is { } inner => inner,
                _ => throw new InvalidRequestException(
                    "The JSON body has no text: send {\"data\": \"<text>\"}, a JSON string, or the text itself."),
            };
        }
        catch (JsonException) when (!declaredJson)
        {
            return null; // not JSON after all: the body is the text
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException($"The body is declared as JSON but is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json refuses a string escaping a lone surrogate (e.g. "\ud800"): no text has one.
            throw new InvalidRequestException($"The JSON text is not valid Unicode: {e.Message}", e);
        }
    }

    private static string? Member(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.String ? value.GetString()
                : throw new InvalidRequestException($"The JSON body's \"{name}\" must be the text as a string, not {value.ValueKind}.")
            : null;

    private static bool IsJson(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().EndsWith("json", StringComparison.OrdinalIgnoreCase);

    private static bool LooksLikeJson(ReadOnlySpan<byte> body)
    {
        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        return start >= 0 && body[start] is (byte)'{' or (byte)'"';
    }
}
