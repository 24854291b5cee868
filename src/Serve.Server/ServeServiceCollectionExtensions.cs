using System;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serve.Runtime;
using Serve.Server;

namespace Microsoft.Extensions.DependencyInjection;

public static class ServeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Serve runtime: the handler registry and the model manager, which loads the
    /// configured models. Handlers are added by the generated <c>AddServeHandlers()</c>, backends
    /// by their own extensions (e.g. <c>AddOnnxRuntime()</c>).
    /// </summary>
    public static IServiceCollection AddServe(this IServiceCollection services)
    {
        services.AddOptions<ServeOptions>();
        // The host's IMeterFactory makes the server's meters (the host builders add it already).
        services.AddMetrics();
        services.TryAddSingleton<HandlerRegistry>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelManager>();
        services.TryAddSingleton<InferencePipeline>();
        services.AddHostedService(static provider => provider.GetRequiredService<ModelManager>());
        // Its grace runs before any hosted service stops, the web server included: see ShutdownGrace.
        services.TryAddSingleton<ShutdownGrace>();
        services.AddHostedService(static provider => provider.GetRequiredService<ShutdownGrace>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Hosting.IStartupFilter, ShutdownGrace>(static provider => provider.GetRequiredService<ShutdownGrace>()));
        services.AddServeLimits();
        return services;
    }

    /// <summary>Adds the Serve runtime with options set in code.</summary>
    public static IServiceCollection AddServe(this IServiceCollection services, Action<ServeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return services.AddServe();
    }

    /// <summary>Adds the Serve runtime with options bound from a configuration section ("Serve").</summary>
    public static IServiceCollection AddServe(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ServeOptions>(configuration);
        return services.AddServe();
    }
}
