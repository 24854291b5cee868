using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading;

namespace Serve.Runtime;

/// <summary>
/// The meters of one served model version: every series labelled with a model lives on these, so
/// that disposing them when the model is unregistered removes its series from <c>/metrics</c>
/// (OpenTelemetry drops a disposed instrument's streams after one last export). Shared static
/// instruments would keep every name ever served: 300 names took /metrics from 75 KB to 2.74 MB.
/// The meter tags (model_name, model_version) keep one model's streams apart from another's.
/// <para>
/// In a host, each meter's <see cref="Meter.Scope"/> is the host's <see cref="IMeterFactory"/>,
/// so an exporter that keeps to its own host's meters sees them. They are made beside the factory,
/// not by it: a factory hands out one cached meter per name, version and tags, and the meters it
/// makes ignore <see cref="Meter.Dispose()"/> until the factory itself goes, so an unregistered
/// model's series would stay, and a model registered again would get its old meter back.
/// </para>
/// </summary>
/// <param name="modelName">The model's name, the meters' model_name tag.</param>
/// <param name="modelVersion">The model's version, the meters' model_version tag.</param>
/// <param name="hostMeters">The host's meter factory, the scope of these meters; null outside a host.</param>
public sealed class ModelMeters(string modelName, string modelVersion, IMeterFactory? hostMeters = null) : IDisposable
{
    // Measurements that race an unregistration land here, where no exporter listens.
    private static readonly Meter Detached = new("Serve.Detached");
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Meter> _meters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Meter, string Instrument), Instrument> _instruments = new();
    private bool _disposed;

    /// <summary>
    /// The host's meter factory (the <see cref="Meter.Scope"/> of this model's meters), for the
    /// host-wide instruments a model's work also records on; null outside a host.
    /// </summary>
    public IMeterFactory? HostMeters => hostMeters;

    /// <summary>The model's meter under <paramref name="meterName"/> (Serve, Serve.Server, Serve.TorchServe...).</summary>
    public Meter For(string meterName)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return Detached;
            }
            if (!_meters.TryGetValue(meterName, out var meter))
            {
                meter = new Meter(new MeterOptions(meterName)
                {
                    Tags = [new KeyValuePair<string, object?>("model_name", modelName), new KeyValuePair<string, object?>("model_version", modelVersion)],
                    Scope = hostMeters,
                });
                _meters.Add(meterName, meter);
            }
            return meter;
        }
    }

    /// <summary>The model's counter <paramref name="name"/> on meter <paramref name="meterName"/>, made on first use.</summary>
    public Counter<T> Counter<T>(string meterName, string name, string? unit = null, string? description = null) where T : struct =>
        (Counter<T>)_instruments.GetOrAdd((meterName, name), key => For(key.Meter).CreateCounter<T>(key.Instrument, unit, description));

    /// <summary>The model's histogram <paramref name="name"/> on meter <paramref name="meterName"/>, made on first use.</summary>
    public Histogram<T> Histogram<T>(string meterName, string name, string? unit = null, string? description = null) where T : struct =>
        (Histogram<T>)_instruments.GetOrAdd((meterName, name), key => For(key.Meter).CreateHistogram<T>(key.Instrument, unit, description));

    /// <summary>Removes the model's series: its meters and their instruments are disposed.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var meter in _meters.Values)
            {
                meter.Dispose();
            }
            _meters.Clear();
        }
    }
}
