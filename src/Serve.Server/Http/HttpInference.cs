using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>What the protocol adapters share: turning an HTTP request into an <see cref="InferenceRequest"/>, and error kinds into statuses.</summary>
internal static class HttpInference
{
    /// <summary>Reads the request body within the server's size and form limits (<see cref="RequestBody"/>).</summary>
    public static Task<RequestBody.Result> ReadBodyAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<ServeOptions>>().Value;
        return RequestBody.ReadAsync(httpContext.Request, options.MaxRequestSize,
            new FormLimits(options.MaxFormParts, options.MaxFormPartHeaderSize), httpContext.RequestAborted);
    }

    /// <summary>
    /// <paramref name="result"/>, or an error in its place when its body exceeds the server's
    /// <see cref="ServeOptions.MaxResponseSize"/>. TorchServe's frontend refuses such an answer from
    /// its worker too (and answers 500 "Worker died."); here the message says what happened.
    /// </summary>
    public static InferenceResult WithinResponseLimit(HttpContext httpContext, InferenceResult result, string modelName)
    {
        var limit = httpContext.RequestServices.GetRequiredService<IOptions<ServeOptions>>().Value.MaxResponseSize;
        return result.ErrorKind is null && result.Body.Length > limit
            ? InferenceResult.Error(InferenceErrorKind.Internal,
                $"Model '{modelName}' answered {result.Body.Length} bytes, more than max_response_size ({limit} bytes); raise max_response_size or make the answer smaller.")
            : result;
    }

    public static InferenceRequest Request(HttpRequest request, ReadOnlyMemory<byte> body, string? contentType) =>
        new(body, contentType, Headers(request), Query(request));

    /// <summary>The HTTP status both adapters give an error kind.</summary>
    public static int Status(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidRequest => StatusCodes.Status400BadRequest,
        InferenceErrorKind.RequestTooLarge => StatusCodes.Status413PayloadTooLarge,
        InferenceErrorKind.ModelNotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.NotSupported => StatusCodes.Status501NotImplemented,
        InferenceErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>A client told "unavailable" (a full queue) is told when to try again, as TorchServe does.</summary>
    public static void AddRetryAfter(HttpResponse response, InferenceErrorKind kind)
    {
        if (kind == InferenceErrorKind.Unavailable)
        {
            response.Headers.RetryAfter = "1";
        }
    }

    private static Dictionary<string, string> Headers(HttpRequest request)
    {
        var headers = new Dictionary<string, string>(request.Headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
        }
        return headers;
    }

    private static Dictionary<string, string> Query(HttpRequest request)
    {
        var query = new Dictionary<string, string>(request.Query.Count, StringComparer.Ordinal);
        foreach (var (name, values) in request.Query)
        {
            query[name] = values.Count > 0 ? values[^1] ?? "" : "";
        }
        return query;
    }
}
