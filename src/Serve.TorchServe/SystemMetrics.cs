using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.IO;
using System.Threading;

namespace Serve.TorchServe;

/// <summary>
/// TorchServe's host metrics (ts/metrics/system_metrics.py, ts/configs/metrics.yaml) as gauges
/// read when scraped, with its names, units and labels (Level=Host, Hostname): CPUUtilization,
/// MemoryUsed, MemoryAvailable, MemoryUtilization (from /proc, computed as psutil does),
/// DiskUsage, DiskAvailable, DiskUtilization (of the root file system); and where NVIDIA's driver
/// is installed, per GPU (label device_id) GPUUtilization, GPUMemoryUsed and GPUMemoryUtilization,
/// read through NVML as TorchServe reads them through pynvml. Off with <c>disable_system_metrics=true</c>.
/// </summary>
internal sealed class SystemMetrics
{
    /// <summary>The meter of the gauges.</summary>
    public const string MeterName = "Serve.TorchServe.System";

    private const string Root = "/";
    private static readonly KeyValuePair<string, object?>[] Tags = [new("Level", "Host"), new("Hostname", Environment.MachineName)];
    private readonly Lock _cpuGate = new();
    private CpuTimes? _lastCpu = CpuTimes.Read();

    /// <summary>
    /// The gauges on the host's meter <see cref="MeterName"/> of <paramref name="meters"/>: made once
    /// per host (the container's singleton), each read when scraped.
    /// </summary>
    public SystemMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("CPUUtilization", () => Measure(CpuPercent()), "Percent", "CPU utilization on the host since the last scrape.");
        meter.CreateObservableGauge("MemoryUsed", () => Measure(Memory.Read()?.UsedMegabytes), "Megabytes", "Memory used on the host.");
        meter.CreateObservableGauge("MemoryAvailable", () => Measure(Memory.Read()?.AvailableMegabytes), "Megabytes", "Memory available on the host.");
        meter.CreateObservableGauge("MemoryUtilization", () => Measure(Memory.Read()?.UtilizationPercent), "Percent", "Memory utilization on the host.");
        meter.CreateObservableGauge("DiskUsage", () => Measure(Disk.Read(Root)?.UsedGigabytes), "Gigabytes", "Disk used on the host's root file system.");
        meter.CreateObservableGauge("DiskAvailable", () => Measure(Disk.Read(Root)?.AvailableGigabytes), "Gigabytes", "Disk available on the host's root file system.");
        meter.CreateObservableGauge("DiskUtilization", () => Measure(Disk.Read(Root)?.UtilizationPercent), "Percent", "Disk utilization on the host's root file system.");
        if (NvmlGpus.Open() is { } gpus)
        {
            AddGpuGauges(meter, gpus);
        }
    }

    /// <summary>TorchServe's three GPU gauges on <paramref name="meter"/>, one series per GPU that NVML sees when scraped.</summary>
    internal static void AddGpuGauges(Meter meter, NvmlGpus gpus)
    {
        meter.CreateObservableGauge("GPUUtilization", () => MeasureGpus(gpus, gpu => gpu.UtilizationPercent), "Percent", "Share of the last sample period in which a kernel ran on the GPU.");
        meter.CreateObservableGauge("GPUMemoryUsed", () => MeasureGpus(gpus, gpu => gpu.MemoryUsedMegabytes), "Megabytes", "GPU memory used.");
        meter.CreateObservableGauge("GPUMemoryUtilization", () => MeasureGpus(gpus, gpu => gpu.MemoryUtilizationPercent), "Percent", "GPU memory used over total.");
    }

    private static List<Measurement<double>> MeasureGpus(NvmlGpus gpus, Func<GpuReading, double?> value)
    {
        var count = gpus.Count;
        var measurements = new List<Measurement<double>>(count);
        for (var index = 0; index < count; index++)
        {
            if (gpus.Read(index) is { } gpu && value(gpu) is { } measured)
            {
                KeyValuePair<string, object?>[] tags = [.. Tags, new("device_id", index)];
                measurements.Add(new Measurement<double>(measured, tags));
            }
        }
        return measurements;
    }

    private static IEnumerable<Measurement<double>> Measure(double? value) =>
        value is { } v ? [new Measurement<double>(v, Tags)] : [];

    /// <summary>Busy share of all CPU time since the previous reading, as psutil.cpu_percent() gives it.</summary>
    private double? CpuPercent()
    {
        lock (_cpuGate)
        {
            var now = CpuTimes.Read();
            var last = _lastCpu;
            _lastCpu = now;
            if (now is null || last is null)
            {
                return null;
            }
            var total = now.Value.Total - last.Value.Total;
            var busy = total - (now.Value.Idle - last.Value.Idle);
            return total <= 0 ? 0 : Math.Clamp(100.0 * busy / total, 0, 100);
        }
    }

    /// <summary>The host's CPU times from the first line of /proc/stat (idle counts iowait, as psutil does).</summary>
    private readonly record struct CpuTimes(double Total, double Idle)
    {
        public static CpuTimes? Read()
        {
            if (!File.Exists("/proc/stat"))
            {
                return null;
            }
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is null || fields.Length < 5 || fields[0] != "cpu")
            {
                return null;
            }
            // user nice system idle iowait irq softirq steal (guest is already in user).
            double total = 0;
            for (var i = 1; i < Math.Min(fields.Length, 9); i++)
            {
                total += double.Parse(fields[i], CultureInfo.InvariantCulture);
            }
            var idle = double.Parse(fields[4], CultureInfo.InvariantCulture) + (fields.Length > 5 ? double.Parse(fields[5], CultureInfo.InvariantCulture) : 0);
            return new CpuTimes(total, idle);
        }
    }

    /// <summary>psutil.virtual_memory() from /proc/meminfo: used = total - free - buffers - cached.</summary>
    private sealed record Memory(double UsedMegabytes, double AvailableMegabytes, double UtilizationPercent)
    {
        public static Memory? Read()
        {
            if (!File.Exists("/proc/meminfo"))
            {
                return null;
            }
            var kib = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                var colon = line.IndexOf(':');
                var value = line[(colon + 1)..].Trim().Split(' ')[0];
                if (colon > 0 && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
                {
                    kib[line[..colon]] = amount;
                }
            }
            double Get(string key) => kib.GetValueOrDefault(key);
            var total = Get("MemTotal");
            if (total <= 0)
            {
                return null;
            }
            var free = Get("MemFree");
            var used = total - free - Get("Buffers") - Get("Cached") - Get("SReclaimable");
            if (used < 0)
            {
                used = total - free;
            }
            var available = kib.TryGetValue("MemAvailable", out var given) ? given : free;
            return new Memory(used / 1024, available / 1024, 100 * (total - available) / total);
        }
    }

    /// <summary>psutil.disk_usage(root): used counts blocks reserved for root; available does not.</summary>
    private sealed record Disk(double UsedGigabytes, double AvailableGigabytes, double UtilizationPercent)
    {
        private const double Gigabyte = 1024.0 * 1024 * 1024;

        public static Disk? Read(string root)
        {
            try
            {
                var drive = new DriveInfo(root);
                double used = drive.TotalSize - drive.TotalFreeSpace;
                double available = drive.AvailableFreeSpace;
                return new Disk(used / Gigabyte, available / Gigabyte, used + available <= 0 ? 0 : 100 * used / (used + available));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return null;
            }
        }
    }
}
