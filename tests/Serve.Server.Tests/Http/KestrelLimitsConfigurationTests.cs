using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;
using Serve.Tests;

namespace Serve.Server.Tests.Http;

public class KestrelLimitsConfigurationTests
{
    [Theory]
    [InlineData("Kestrel:Limits:MaxConcurrentConnections", "many", "Kestrel:Limits:MaxConcurrentConnections is 'many'")]
    [InlineData("Kestrel:Limits:MaxRequestBodySize", "-1", "Kestrel:Limits:MaxRequestBodySize is '-1'")]
    [InlineData("Kestrel:Limits:KeepAliveTimeout", "soon", "Kestrel:Limits:KeepAliveTimeout is 'soon'")]
    public void A_kestrel_limit_that_is_not_a_valid_value_stops_the_start_naming_the_key(string key, string value, string message)
    {
        var builder = KestrelTestHost.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.Services.AddServe();
        // The server, and with it its options, is made when the app is built.
        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());

        Assert.Contains(message, error.Message);
    }
}
