using System;
using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serve.Server.Connections;

/// <summary>
/// Kestrel's limits from configuration (<c>Kestrel:Limits:*</c>, which the slim host builder does
/// not bind), and a connection cap by default derived from the descriptor limit, so that a
/// connection flood is refused connections and never a process that runs out of descriptors.
/// </summary>
internal sealed partial class KestrelLimitsSetup(IConfiguration configuration, ILogger<KestrelLimitsSetup> logger, IMeterFactory meters)
    : IConfigureOptions<KestrelServerOptions>
{
    public const string Section = "Kestrel:Limits";

    public void Configure(KestrelServerOptions options)
    {
        var section = configuration.GetSection(Section);
        var limits = options.Limits;
        if (Long(section, nameof(KestrelServerLimits.MaxRequestBodySize)) is { } body) limits.MaxRequestBodySize = body;
        if (Long(section, nameof(KestrelServerLimits.MaxRequestBufferSize)) is { } requestBuffer) limits.MaxRequestBufferSize = requestBuffer;
        if (Long(section, nameof(KestrelServerLimits.MaxResponseBufferSize)) is { } responseBuffer) limits.MaxResponseBufferSize = responseBuffer;
        if (Long(section, nameof(KestrelServerLimits.MaxRequestHeadersTotalSize)) is { } headers) limits.MaxRequestHeadersTotalSize = (int)headers;
        if (Long(section, nameof(KestrelServerLimits.MaxRequestHeaderCount)) is { } headerCount) limits.MaxRequestHeaderCount = (int)headerCount;
        if (Long(section, nameof(KestrelServerLimits.MaxRequestLineSize)) is { } line) limits.MaxRequestLineSize = (int)line;
        if (Long(section, nameof(KestrelServerLimits.MaxConcurrentUpgradedConnections)) is { } upgraded) limits.MaxConcurrentUpgradedConnections = upgraded;
        if (Time(section, nameof(KestrelServerLimits.KeepAliveTimeout)) is { } keepAlive) limits.KeepAliveTimeout = keepAlive;
        if (Time(section, nameof(KestrelServerLimits.RequestHeadersTimeout)) is { } headersTimeout) limits.RequestHeadersTimeout = headersTimeout;
        var rate = section.GetSection(nameof(KestrelServerLimits.MinRequestBodyDataRate));
        if (Long(rate, nameof(MinDataRate.BytesPerSecond)) is { } bytesPerSecond)
        {
            limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond, Time(rate, nameof(MinDataRate.GracePeriod)) ?? TimeSpan.FromSeconds(5));
        }

        var descriptors = DescriptorLimit.RaiseToHardLimit();
        var open = DescriptorLimit.OpenNow();
        long? safeCap = descriptors is { } limit && open is { } openNow ? DescriptorLimit.ConnectionCap(limit, openNow) : null;
        if (Long(section, nameof(KestrelServerLimits.MaxConcurrentConnections)) is { } configured)
        {
            // Honoured up to what the descriptors allow: past that the runtime itself runs out and aborts.
            limits.MaxConcurrentConnections = Math.Min(configured, safeCap ?? configured);
            if (configured > limits.MaxConcurrentConnections)
            {
                LogConfiguredCapTooHigh(logger, configured, descriptors!.Value, limits.MaxConcurrentConnections.Value);
            }
            else
            {
                LogConfiguredCap(logger, configured, descriptors);
            }
        }
        else if (safeCap is { } cap)
        {
            limits.MaxConcurrentConnections = cap;
            LogDerivedCap(logger, cap, descriptors!.Value, open!.Value);
            if (cap < DescriptorLimit.MinimumComfortableCap)
            {
                LogLowDescriptorLimit(logger, descriptors!.Value, open!.Value + 128 + 64);
            }
        }

        // Every endpoint, including those from Urls: connections over the cap are answered 503, and
        // Kestrel's own empty error answers get JSON bodies. Kestrel's cap stays as a backstop just above.
        var connectionCap = limits.MaxConcurrentConnections is { } chosen ? new ConnectionCap(chosen, meters) : null;
        if (connectionCap is not null)
        {
            limits.MaxConcurrentConnections = connectionCap.Cap + connectionCap.RefusalRoom;
        }
        options.ConfigureEndpointDefaults(listen =>
        {
            if (connectionCap is not null)
            {
                listen.Use(connectionCap.Use);
            }
            listen.Use(KestrelErrorBodies.Use);
        });

        // The first stack trace formatted loads System.Diagnostics.StackTrace.dll: do it now, while
        // descriptors are plentiful, not on the error path of a flood.
        try
        {
            throw new InvalidOperationException("Warming up exception formatting.");
        }
        catch (InvalidOperationException e)
        {
            _ = e.ToString();
        }
    }

    private static long? Long(IConfigurationSection section, string key) =>
        section[key] is not { } text ? null
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0 ? value
        : throw new InvalidOperationException($"Configuration {section.Path}:{key} is '{text}'; it must be a whole number, 0 or more.");

    private static TimeSpan? Time(IConfigurationSection section, string key) =>
        section[key] is not { } text ? null
        : TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero ? value
        : throw new InvalidOperationException($"Configuration {section.Path}:{key} is '{text}'; it must be a positive time span such as 00:00:30.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Connections are capped at {Cap}, derived from the descriptor limit {Limit} with {Open} open at start; set Kestrel:Limits:MaxConcurrentConnections to choose another cap")]
    private static partial void LogDerivedCap(ILogger logger, long cap, long limit, int open);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The descriptor limit {Limit} leaves room for few connections; raise it (ulimit -n, systemd LimitNOFILE) to at least {Suggested}")]
    private static partial void LogLowDescriptorLimit(ILogger logger, long limit, long suggested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kestrel:Limits:MaxConcurrentConnections is {Configured}, more than the descriptor limit {Limit} leaves room for; connections are capped at {Cap} instead")]
    private static partial void LogConfiguredCapTooHigh(ILogger logger, long configured, long limit, long cap);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connections are capped at {Cap} by Kestrel:Limits:MaxConcurrentConnections (descriptor limit {Limit})")]
    private static partial void LogConfiguredCap(ILogger logger, long cap, long? limit);
}
