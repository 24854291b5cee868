using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Serve.Server.Connections;
using Serve.Server.Http;

namespace Microsoft.Extensions.DependencyInjection;

internal static class ServeLimitsServiceCollectionExtensions
{
    /// <summary>
    /// What keeps the server up and clear under hostile clients: Kestrel's limits from
    /// configuration with a connection cap derived from the descriptor limit, JSON bodies for the
    /// errors Kestrel and the routing write, and descriptor exhaustion survived (see docs/limits.md).
    /// </summary>
    public static IServiceCollection AddServeLimits(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, KestrelLimitsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, ErrorBodies>());
        // Registered last, so Kestrel binds its endpoints with it (it takes the last transport registered).
        services.AddSingleton<IConnectionListenerFactory, AcceptGate>();
        // Kestrel warns once per connection refused over the cap: a flood would bury the log. The
        // refusals are counted by Kestrel's meter (kestrel.rejected_connections) instead.
        services.Configure<LoggerFilterOptions>(options => options.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Connections", LogLevel.Error));
        return services;
    }
}
