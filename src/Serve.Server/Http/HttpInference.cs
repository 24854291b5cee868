using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>What every HTTP protocol shares: running a call through the <see cref="InferencePipeline"/>, reading its body within the limits, and error kinds as statuses.</summary>
internal static class HttpInference
{
    /// <summary>Runs the call through the pipeline with <paramref name="codec"/>; the pipeline is the app's.</summary>
    public static Task RunAsync<TInput>(HttpContext httpContext, IInferenceCodec<HttpContext, TInput> codec) =>
        httpContext.RequestServices.GetRequiredService<InferencePipeline>().RunAsync(httpContext, codec, httpContext.RequestAborted, TraceParent(httpContext.Request));

    /// <summary>
    /// The caller's W3C <c>traceparent</c> (and <c>tracestate</c>), for a traced server whose host did
    /// not make it an activity already (ASP.NET Core does when its own activities are listened to).
    /// </summary>
    private static ActivityContext TraceParent(HttpRequest request)
    {
        if (Activity.Current is not null || !ServeTracing.Source.HasListeners()
            || !request.Headers.TryGetValue("traceparent", out var traceParent))
        {
            return default;
        }
        return ActivityContext.TryParse(traceParent.ToString(), request.Headers["tracestate"].ToString(), isRemote: true, out var parent) ? parent : default;
    }

    /// <summary>Reads the request body within the server's size and form limits (<see cref="RequestBody"/>).</summary>
    public static async ValueTask<(ReadOnlyMemory<byte> Body, InferenceResult? Error)> ReadBodyAsync(HttpContext httpContext, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        var (body, _, error) = await ReadBodyAsync(httpContext, pipeline, pooled: false, cancellationToken).ConfigureAwait(false);
        return (body, error);
    }

    /// <summary>
    /// Reads the request body as <see cref="ReadBodyAsync(HttpContext, InferencePipeline, CancellationToken)"/>
    /// does, into a pooled array where it fits one: the caller hands <c>Pooled</c> to the pipeline
    /// (<see cref="Decoded{TInput}.Body"/>), which returns it once nothing reads the body any more.
    /// </summary>
    public static async ValueTask<(ReadOnlyMemory<byte> Body, PooledBody? Pooled, InferenceResult? Error)> ReadBodyAsync(
        HttpContext httpContext, InferencePipeline pipeline, bool pooled, CancellationToken cancellationToken)
    {
        var options = pipeline.Options;
        var read = await RequestBody.ReadAsync(httpContext.Request, pipeline.Limits.MaxRequestSize,
            new FormLimits(options.MaxFormParts, options.MaxFormPartHeaderSize), pooled, cancellationToken).ConfigureAwait(false);
        return read.Error is { } error ? (default, null, InferenceResult.Error(error.Kind, error.Message)) : (read.Bytes, read.Pooled, null);
    }

    /// <summary>A handler's request: the body, with the HTTP request's headers and query.</summary>
    public static InferenceRequest Request(HttpRequest request, ReadOnlyMemory<byte> body, string? contentType) =>
        new(body, contentType, Headers(request), Query(request));

    /// <summary>The HTTP status every protocol gives an error kind.</summary>
    public static int Status(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidRequest => StatusCodes.Status400BadRequest,
        InferenceErrorKind.RequestTooLarge => StatusCodes.Status413PayloadTooLarge,
        InferenceErrorKind.ModelNotFound or InferenceErrorKind.VersionNotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.NotSupported => StatusCodes.Status501NotImplemented,
        InferenceErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        InferenceErrorKind.RequestTimeout => StatusCodes.Status408RequestTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The error kind of a status Kestrel refused a request body with (a bad chunk, a body over its cap, one sent too slowly).</summary>
    public static InferenceErrorKind Kind(int statusCode) => statusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => InferenceErrorKind.RequestTooLarge,
        StatusCodes.Status408RequestTimeout => InferenceErrorKind.RequestTimeout,
        _ => InferenceErrorKind.InvalidRequest,
    };

    /// <summary>A client told "unavailable" (a full queue) is told when to try again, as TorchServe does.</summary>
    public static void AddRetryAfter(HttpResponse response, InferenceErrorKind kind)
    {
        if (kind == InferenceErrorKind.Unavailable)
        {
            response.Headers.RetryAfter = "1";
        }
    }

    /// <summary>Writes a body already built.</summary>
    public static Task WriteAsync(HttpContext httpContext, int statusCode, string contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, cancellationToken).AsTask();
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
