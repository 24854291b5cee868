using System;
using System.IO.Pipelines;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Connections;
using Serve.Runtime;

namespace Serve.Server.Connections;

/// <summary>
/// Kestrel answers a request it cannot parse (a bad request line or header, a line or headers
/// too long, an unknown HTTP version, headers that arrive too slowly) before any application code
/// runs, with an empty body, and closes the connection; no middleware can reach that answer. This
/// connection middleware sees it go out and gives it TorchServe's JSON body: a response head with
/// an error status, <c>Content-Length: 0</c> and <c>Connection: close</c> is what only those
/// answers look like (the application's errors carry bodies, see <see cref="Http.ErrorBodies"/>).
/// </summary>
internal static class KestrelErrorBodies
{
    public static ConnectionDelegate Use(ConnectionDelegate next) => async connection =>
    {
        var transport = connection.Transport;
        connection.Transport = new Transport(transport.Input, new Writer(transport.Output));
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            connection.Transport = transport;
        }
    };

    /// <summary>The JSON message for a status Kestrel writes itself.</summary>
    public static string Message(int statusCode) => statusCode switch
    {
        400 => "The request is malformed: its request line, a header or its framing could not be parsed.",
        405 => "The request's method is not one HTTP/1.1 allows here.",
        408 => "The request headers did not arrive in time (Kestrel:Limits:RequestHeadersTimeout).",
        411 => "The request has a body but neither Content-Length nor chunked Transfer-Encoding.",
        413 => "The request body is larger than Kestrel:Limits:MaxRequestBodySize.",
        414 => "The request line is longer than Kestrel:Limits:MaxRequestLineSize.",
        431 => "The request headers are larger than Kestrel:Limits:MaxRequestHeadersTotalSize or more than Kestrel:Limits:MaxRequestHeaderCount.",
        501 => "The request uses a transfer coding the server does not implement.",
        505 => "The HTTP version is not supported; use HTTP/1.1 or HTTP/2.",
        _ => $"The request failed with status {statusCode}.",
    };

    private static string Type(int statusCode) => statusCode switch
    {
        408 => "RequestTimeoutException",
        413 => "RequestTooLargeException",
        _ => "InvalidRequestException",
    };

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>Passes every write through, except an empty error answer, which it writes again with a body.</summary>
    private sealed class Writer(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _lastMemory;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_lastMemory = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            if (bytes > 0 && bytes <= _lastMemory.Length && EmptyErrorStatus(_lastMemory.Span[..bytes]) is { } status)
            {
                var rewritten = WithBody(_lastMemory.Span[..bytes], status);
                rewritten.CopyTo(inner.GetSpan(rewritten.Length));
                inner.Advance(rewritten.Length);
                return;
            }
            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }

    /// <summary>The status of a whole response head with an error status, no body and Connection: close; else null.</summary>
    internal static int? EmptyErrorStatus(ReadOnlySpan<byte> written)
    {
        if (!written.StartsWith("HTTP/1.1 "u8) || written.Length < 12 || !written.EndsWith("\r\n\r\n"u8))
        {
            return null;
        }
        var code = written.Slice(9, 3);
        if (code[0] is < (byte)'4' or > (byte)'5' || !char.IsAsciiDigit((char)code[1]) || !char.IsAsciiDigit((char)code[2]))
        {
            return null;
        }
        if (written.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0 || written.IndexOf("\r\nConnection: close\r\n"u8) < 0
            || written.IndexOf("\r\nContent-Type:"u8) >= 0)
        {
            return null;
        }
        return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    }

    private static byte[] WithBody(ReadOnlySpan<byte> head, int statusCode)
    {
        var body = Serve.Server.Http.TorchServeErrorBody.Json(statusCode, Type(statusCode), Message(statusCode)).Span;
        var text = Encoding.ASCII.GetString(head[..^2]) // keep the head's lines, drop the blank line
            .Replace("\r\nContent-Length: 0\r\n", $"\r\nContent-Length: {body.Length}\r\n", StringComparison.Ordinal);
        var prefix = Encoding.ASCII.GetBytes(text + "Content-Type: " + InferenceResult.JsonContentType + "\r\n\r\n");
        var rewritten = new byte[prefix.Length + body.Length];
        prefix.CopyTo(rewritten, 0);
        body.CopyTo(rewritten.AsSpan(prefix.Length));
        return rewritten;
    }
}
