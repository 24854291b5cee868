using System;
using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// TorchServe's error body, <c>{"code", "type", "message"}</c>, indented as TorchServe writes it:
/// the one writer behind every error this server answers in that format (inference, KServe v1,
/// management, token authorization, unknown routes, Kestrel's own refusals).
/// </summary>
public static class TorchServeErrorBody
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        // Relaxed escaping keeps messages readable ("model's", not "model\u0027s"); this is an HTTP body, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>TorchServe's exception names for an error kind, which its clients match on.</summary>
    public static string TypeName(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidRequest => "InvalidRequestException",
        InferenceErrorKind.RequestTooLarge => "RequestTooLargeException",
        InferenceErrorKind.ModelNotFound => "ModelNotFoundException",
        InferenceErrorKind.VersionNotFound => "ModelVersionNotFoundException",
        InferenceErrorKind.NotSupported => "NotImplementedException",
        InferenceErrorKind.Unavailable => "ServiceUnavailableException",
        InferenceErrorKind.Timeout or InferenceErrorKind.RequestTimeout => "RequestTimeoutException",
        _ => "InternalServerException",
    };

    /// <summary>The body's bytes.</summary>
    public static ReadOnlyMemory<byte> Json(int code, string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteNumber("code", code);
            writer.WriteString("type", type);
            writer.WriteString("message", message);
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

    /// <summary>Answers a failed result: its kind's status and TorchServe type (and Retry-After when unavailable).</summary>
    public static Task WriteAsync(HttpContext httpContext, InferenceResult error)
    {
        var kind = error.ErrorKind ?? throw new ArgumentException("The result did not fail.", nameof(error));
        HttpInference.AddRetryAfter(httpContext.Response, kind);
        return WriteAsync(httpContext, HttpInference.Status(kind), TypeName(kind), error.ErrorMessage ?? "");
    }

    /// <summary>Answers <paramref name="statusCode"/> with the body; a 401 also says <c>WWW-Authenticate: Bearer</c>.</summary>
    public static Task WriteAsync(HttpContext httpContext, int statusCode, string type, string message)
    {
        var body = Json(statusCode, type, message);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        if (statusCode == StatusCodes.Status401Unauthorized)
        {
            response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        }
        response.ContentType = InferenceResult.JsonContentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}
