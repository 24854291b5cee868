using System;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Serve.Server.Metrics;

/// <summary>
/// One instrument per host: made on the meter <see cref="MeterName"/> of a host's
/// <see cref="IMeterFactory"/> the first time that host records on it, then reused. A host's
/// exporter that keeps to its own factory's meters then sees only its own host's measurements,
/// also with several hosts in one process (tests). Outside a host (no factory), one process-wide
/// instrument on a meter of no scope.
/// </summary>
internal sealed class HostInstrument<T> where T : Instrument
{
    // Instrument, not T: the table's value type carries a trimming annotation that T would have to repeat.
    private readonly ConditionalWeakTable<IMeterFactory, Instrument> _byHost = new();
    private readonly ConditionalWeakTable<IMeterFactory, Instrument>.CreateValueCallback _create;
    private readonly Func<Meter, T> _createOn;
    private T? _outsideHost;

    public HostInstrument(string meterName, Func<Meter, T> create)
    {
        MeterName = meterName;
        _createOn = create;
        _create = host => create(host.Create(meterName));
    }

    /// <summary>The name of the meter the instrument is made on.</summary>
    public string MeterName { get; }

    /// <summary>The instrument of <paramref name="host"/>; the process-wide one when null.</summary>
    public T For(IMeterFactory? host) =>
        host is null ? LazyInitializer.EnsureInitialized(ref _outsideHost, () => _createOn(new Meter(MeterName))) : (T)_byHost.GetValue(host, _create);
}
