using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

/// <summary>
/// The GPU gauges through NVML. No GPU here: a stand-in libnvidia-ml (C, compiled by the test with
/// the machine's cc) answers NVML's calls with fixed figures, so the binding's entry points, struct
/// layouts and the gauges' values and labels are checked for real; the host without a driver too.
/// </summary>
public sealed class GpuMetricsTests : IDisposable
{
    private const string FakeNvml = """
        #include <string.h>
        typedef struct { unsigned int gpu, memory; } utilization_t;
        typedef struct { unsigned long long total, free, used; } memory_t;
        int nvmlInit_v2(void) { return 0; }
        int nvmlDeviceGetCount_v2(unsigned int *count) { *count = 2; return 0; }
        int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) { *device = (void *)(unsigned long)(index + 1); return 0; }
        int nvmlDeviceGetUtilizationRates(void *device, utilization_t *u) {
          if ((unsigned long)device == 2) return 3; /* NVML_ERROR_NOT_SUPPORTED on the second GPU */
          u->gpu = 87; u->memory = 40; return 0;
        }
        int nvmlDeviceGetMemoryInfo(void *device, memory_t *m) {
          m->total = 80ULL << 30; m->used = ((unsigned long)device == 1 ? 20ULL : 60ULL) << 30; m->free = m->total - m->used; return 0;
        }
        """;

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_host_without_NVIDIAs_driver_has_no_GPU_probe()
    {
        Assert.Null(NvmlGpus.Open(_temp["libnvidia-ml.so.1"]));
    }

    [Fact]
    public void Each_GPU_is_reported_with_TorchServes_names_and_its_device_id()
    {
        var gpus = NvmlGpus.Open(CompileFakeNvml());
        Assert.NotNull(gpus);
        Assert.Equal(2, gpus.Count);

        using var meter = new Meter("GpuMetricsTests." + Guid.NewGuid());
        SystemMetrics.AddGpuGauges(meter, gpus);
        var seen = new List<(string Name, double Value, int Device, string? Level)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var all = tags.ToArray();
            seen.Add((instrument.Name, value, (int)all.Single(t => t.Key == "device_id").Value!, (string?)all.Single(t => t.Key == "Level").Value));
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.All(seen, s => Assert.Equal("Host", s.Level));
        Assert.Equal([(0, 20.0 * 1024), (1, 60.0 * 1024)], Values("GPUMemoryUsed"));
        Assert.Equal([(0, 25.0), (1, 75.0)], Values("GPUMemoryUtilization"));
        Assert.Equal([(0, 87.0)], Values("GPUUtilization")); // the second GPU does not report its load: no series, not a zero

        (int, double)[] Values(string name) => seen.Where(s => s.Name == name).Select(s => (s.Device, s.Value)).OrderBy(v => v.Device).ToArray();
    }

    private string CompileFakeNvml()
    {
        File.WriteAllText(_temp["nvml.c"], FakeNvml);
        var library = _temp["libnvidia-ml.so.1"];
        var cc = new ProcessStartInfo("cc", ["-shared", "-fPIC", "-o", library, _temp["nvml.c"]]) { RedirectStandardError = true };
        using var process = Process.Start(cc) ?? throw new InvalidOperationException("cc could not be started: a C compiler is needed to build the stand-in NVML");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, "cc failed: " + error);
        return library;
    }
}
