using System;
using System.Text;

namespace Serve.Runtime;

/// <summary>
/// The outcome for one request: a body and its content type, or an error kind and message.
/// Protocol-neutral: each protocol adapter (TorchServe REST, Open Inference Protocol v2) turns
/// it into its own status codes and wire format.
/// </summary>
public sealed class InferenceResult
{
    /// <summary>The content type of JSON results.</summary>
    public const string JsonContentType = "application/json";
    /// <summary>The content type of text results.</summary>
    public const string TextContentType = "text/plain; charset=utf-8";
    /// <summary>The content type of byte results.</summary>
    public const string BinaryContentType = "application/octet-stream";

    /// <summary>A successful result with the given body and content type.</summary>
    public InferenceResult(ReadOnlyMemory<byte> body, string contentType)
    {
        Body = body;
        ContentType = contentType;
    }

    private InferenceResult(InferenceErrorKind kind, string message)
    {
        ContentType = TextContentType;
        ErrorKind = kind;
        ErrorMessage = message;
    }

    /// <summary>The response body; empty for a failed request.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The body's content type.</summary>
    public string ContentType { get; }

    /// <summary>Why the request failed; null when it succeeded.</summary>
    public InferenceErrorKind? ErrorKind { get; }

    /// <summary>What went wrong, for the client; null when the request succeeded.</summary>
    public string? ErrorMessage { get; }

    /// <summary>True unless the request failed.</summary>
    public bool IsSuccess => ErrorKind is null;

    /// <summary>A UTF-8 JSON body.</summary>
    public static InferenceResult Json(ReadOnlyMemory<byte> utf8Json) => new(utf8Json, JsonContentType);

    /// <summary>A UTF-8 text body.</summary>
    public static InferenceResult Text(string text) => new(Encoding.UTF8.GetBytes(text), TextContentType);

    /// <summary>A binary body.</summary>
    public static InferenceResult Binary(ReadOnlyMemory<byte> bytes) => new(bytes, BinaryContentType);

    /// <summary>A failed request.</summary>
    public static InferenceResult Error(InferenceErrorKind kind, string message) => new(kind, message);
}

/// <summary>Why a request failed, independent of any wire protocol.</summary>
public enum InferenceErrorKind
{
    /// <summary>The request's input is unusable (not an image, an empty body...).</summary>
    InvalidRequest,

    /// <summary>The request body is larger than the server accepts.</summary>
    RequestTooLarge,

    /// <summary>No model by that name (and version) is being served.</summary>
    ModelNotFound,

    /// <summary>The model cannot do what was asked (e.g. explain without an [Explain] stage).</summary>
    NotSupported,

    /// <summary>The model cannot take the request now: a full queue, or it is shutting down.</summary>
    Unavailable,

    /// <summary>The request's batch took longer than the model's responseTimeout.</summary>
    Timeout,

    /// <summary>The handler or the server failed; the message names the stage.</summary>
    Internal,

    /// <summary>The model is served, but not in the version asked for.</summary>
    VersionNotFound,

    /// <summary>The client sent its request too slowly (below the server's minimum data rate).</summary>
    RequestTimeout,
}
