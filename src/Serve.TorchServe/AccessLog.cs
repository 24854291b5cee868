using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Serve.TorchServe;

/// <summary>
/// TorchServe's access log (log4j2.xml's ACCESS_LOG appender, Session.toString): one line per
/// answered request, <c>2026-11-27T20:10:00,123 - /127.0.0.1:50312 "POST /predictions/digits HTTP/1.1" 200 12</c>
/// (remote address, request line, status, milliseconds); a gRPC call as TorchServe's
/// GRPCInterceptor logs it, <c>... "gRPC org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions HTTP/2.0" 0 12</c>
/// (its gRPC status code). Lines are written by one background
/// writer, so a request never waits for the disk; if the disk falls 10,000 lines behind, new
/// lines are dropped rather than holding requests.
/// </summary>
internal sealed class AccessLog : IAsyncDisposable
{
    private readonly Channel<string> _lines = Channel.CreateBounded<string>(new BoundedChannelOptions(10_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private readonly Task _writer;

    /// <summary>Appends to <paramref name="path"/>, creating its directory.</summary>
    public AccessLog(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var file = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite));
        _writer = Task.Run(() => WriteLinesAsync(file));
    }

    /// <summary>The log file.</summary>
    public string Path { get; }

    /// <summary>Middleware: logs the request once it is answered.</summary>
    public async Task Write(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            var request = context.Request;
            var remote = context.Connection.RemoteIpAddress is { } ip ? $"/{ip}:{context.Connection.RemotePort}" : "/127.0.0.1";
            var milliseconds = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var line = GrpcStatus(context) is { } grpcStatus
                ? $"\"gRPC {request.Path.Value?.TrimStart('/')} HTTP/2.0\" {grpcStatus}"
                : $"\"{request.Method} {Target(context)} {request.Protocol}\" {status}";
            _lines.Writer.TryWrite(string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:yyyy-MM-dd'T'HH:mm:ss,fff} - {remote} {line} {milliseconds}"));
        }
    }

    /// <summary>A gRPC call's status code: in its trailers, or its headers when it failed before any message (trailers-only); null for any other request.</summary>
    private static string? GrpcStatus(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            return null;
        }
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        return trailers?["grpc-status"] is [{ } fromTrailers] ? fromTrailers
            : context.Response.Headers["grpc-status"] is [{ } fromHeaders] ? fromHeaders
            : null;
    }

    /// <summary>The request target as sent (still escaped, so nothing in it can break the line).</summary>
    private static string Target(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path.ToUriComponent() + context.Request.QueryString;

    private async Task WriteLinesAsync(StreamWriter file)
    {
        await using (file)
        {
            while (await _lines.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    await file.WriteLineAsync(line).ConfigureAwait(false);
                }
                await file.FlushAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes what is queued and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }
}
