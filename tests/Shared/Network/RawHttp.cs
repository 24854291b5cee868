using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Tests;

/// <summary>Bytes no HttpClient would send, over a plain socket; the answer read until the server closes the connection.</summary>
public static class RawHttp
{
    public sealed record Answer(int Status, string Head, string Body)
    {
        /// <summary>True when the body is as long as the head's Content-Length says, or its last chunk came.</summary>
        public bool Complete => ContentLength() is { } length
            ? Encoding.UTF8.GetByteCount(Body) >= length
            : Head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) && Body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);

        private int? ContentLength()
        {
            foreach (var line in Head.Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    return int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            return null;
        }
    }

    /// <summary>Sends <paramref name="request"/> and reads until the server closes; null when it closed without answering.</summary>
    public static async Task<Answer?> ExchangeAsync(Uri listener, byte[] request, TimeSpan? patience = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, listener.Port);
        await socket.SendAsync(request); // no half-close: Kestrel may drop a connection whose input ended
        using var timeout = new CancellationTokenSource(patience ?? TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (Parse(Encoding.UTF8.GetString(received.ToArray())) is { } answer && answer.Complete)
                {
                    return answer;
                }
            }
        }
        catch (SocketException)
        {
            // reset after the answer: what came is what counts
        }
        return Parse(Encoding.UTF8.GetString(received.ToArray()));
    }

    public static Answer? Parse(string text)
    {
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) || headEnd < 0)
        {
            return null;
        }
        return new Answer(int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), text[..headEnd], text[(headEnd + 4)..]);
    }
}
