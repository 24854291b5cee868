using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace Serve.Tests;

/// <summary>
/// A free port on 127.0.0.1 for a listener a test configures by number (a config.properties, a
/// process's arguments); where the test builds the host itself, port 0 is simpler.
/// </summary>
public static class FreePort
{
    // Ports handed out in this process: the OS may offer a port again once its probe closed, and
    // two listeners of one server (or of two servers starting at once) must not get the same one.
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
