using System;
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serve.Runtime;

/// <summary>The response for one request: status, content type and body bytes.</summary>
public sealed class InferenceResult
{
    /// <summary>The content type of JSON results.</summary>
    public const string JsonContentType = "application/json";
    /// <summary>The content type of text results.</summary>
    public const string TextContentType = "text/plain; charset=utf-8";
    /// <summary>The content type of byte results.</summary>
    public const string BinaryContentType = "application/octet-stream";

    /// <summary>A response with the given body, content type and status.</summary>
    public InferenceResult(ReadOnlyMemory<byte> body, string contentType, int statusCode = 200)
    {
        Body = body;
        ContentType = contentType;
        StatusCode = statusCode;
    }

    /// <summary>The response body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The response's content type.</summary>
    public string ContentType { get; }

    /// <summary>The HTTP status for this request; 200 unless the request failed.</summary>
    public int StatusCode { get; }

    /// <summary>True unless the request failed (a status of 400 or more).</summary>
    public bool IsSuccess => StatusCode < 400;

    /// <summary>A 200 with a UTF-8 JSON body.</summary>
    public static InferenceResult Json(ReadOnlyMemory<byte> utf8Json) => new(utf8Json, JsonContentType);

    /// <summary>A 200 with a UTF-8 text body.</summary>
    public static InferenceResult Text(string text) => new(Encoding.UTF8.GetBytes(text), TextContentType);

    /// <summary>A 200 with a binary body.</summary>
    public static InferenceResult Binary(ReadOnlyMemory<byte> bytes) => new(bytes, BinaryContentType);

    /// <summary>A failed request, with TorchServe's error body: <c>{"code", "type", "message"}</c>.</summary>
    public static InferenceResult Error(int statusCode, string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        // Relaxed escaping keeps messages readable ("model's", not "model\u0027s"); this is an HTTP body, not HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", statusCode);
            writer.WriteString("type", type);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }
        return new InferenceResult(buffer.WrittenMemory, JsonContentType, statusCode);
    }
}
