// The engine's focused measurements:
//   EngineBench shapes MODEL.pt REQUESTS PROFILING   a TorchScript model fed 3xHxW inputs of assorted sizes,
//                                                  with torch.profilingExecutor PROFILING (true/false)
//   EngineBench iobinding MODEL.onnx BATCH ROUNDS     one-input ONNX model, ROUNDS batches of BATCH per-request tensors
//                                                  stacked and run, with onnx.ioBinding true and false in turn:
//                                                  managed bytes allocated and time per batch
//   EngineBench scale MODEL_DIR CYCLES WORKERS [WARMUP]
//                                                  WARMUP cycles, then CYCLES cycles of 1 -> WORKERS -> 1 workers
//                                                  under traffic; resident memory at 1 worker after each
//   EngineBench throughput MODEL_DIR WORKERS CONCURRENCY SECONDS
//                                                  requests/s through the engine (queue, worker, model) and resident memory
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serve.Runtime;
using Serve.Server;
using Serve.Torch;

static double ResidentMb() => Environment.WorkingSet / 1048576.0;
static int Threads() => Process.GetCurrentProcess().Threads.Count;

// Where resident memory sits: anonymous pages vs mapped files, the GC's committed heap, and the
// C heap's bytes in use vs free but kept (glibc's mallinfo2).
static string Breakdown()
{
    var status = File.ReadAllLines("/proc/self/status");
    static double Kb(string[] lines, string key) =>
        double.Parse(lines.First(l => l.StartsWith(key, StringComparison.Ordinal))[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    var heap = NativeHeapInfo.Read();
    return $"methods jitted {System.Runtime.JitInfo.GetCompiledMethodCount()}, anon {Kb(status, "RssAnon"):F0} MB, file {Kb(status, "RssFile"):F0} MB, GC committed {GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0:F0} MB, " +
        $"C heap in use {heap.InUse / 1048576.0:F0} MB, free kept {heap.Free / 1048576.0:F0} MB, mmapped {heap.Mapped / 1048576.0:F0} MB";
}

if (args is ["shapes", var path, var countText, var profilingText])
{
    var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
    var context = new HandlerContext(new ModelManifest { ModelName = "shapes", SerializedFile = Path.GetFileName(path) }, directory)
    {
        ModelConfig = ModelConfig.Parse(new StringReader($"torch:\n  profilingExecutor: {profilingText}\n"), "model-config.yaml"),
        ModelLoaders = [new TorchModelLoader()],
    };
    using var model = (TorchScriptModel)context.LoadModel();
    var random = new Random(1);
    var total = Stopwatch.StartNew();
    var times = new List<double>();
    for (var i = 0; i < int.Parse(countText, CultureInfo.InvariantCulture); i++)
    {
        var (height, width) = (random.Next(200, 641), random.Next(200, 641));
        var input = new Tensor<float>(Enumerable.Range(0, 3 * height * width).Select(_ => (float)random.NextDouble()).ToArray(), [3, height, width]);
        var start = Stopwatch.GetTimestamp();
        var outputs = await ((IModel<Tensor<float>, IReadOnlyList<Tensor>>)model).RunAsync(input, default);
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        foreach (var output in outputs) output.Dispose();
    }
    times.Sort();
    Console.WriteLine($"profilingExecutor {profilingText}: {times.Count} requests of assorted sizes in {total.Elapsed.TotalSeconds:F1} s; " +
        $"per request p50 {times[times.Count / 2]:F0} ms, max {times[^1]:F0} ms; resident {ResidentMb():F0} MB");
    return;
}

if (args is ["iobinding", var onnxPath, var batchText, var roundsText])
{
    var batch = int.Parse(batchText, CultureInfo.InvariantCulture);
    var rounds = int.Parse(roundsText, CultureInfo.InvariantCulture);
    IModel<IReadOnlyList<Tensor<float>>, Tensor<float>> Load(bool binding)
    {
        var context = new HandlerContext(new ModelManifest { ModelName = "bound", SerializedFile = Path.GetFileName(onnxPath) }, Path.GetDirectoryName(Path.GetFullPath(onnxPath))!)
        {
            ModelConfig = ModelConfig.Parse(new StringReader($"batchSize: {batch}\npreferredBatchSizes: [{batch}]\nonnx:\n  ioBinding: {(binding ? "true" : "false")}\n"), "model-config.yaml"),
            ModelLoaders = [new Serve.Onnx.OnnxModelLoader()],
        };
        return (IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>)context.LoadModel();
    }
    var models = new[] { (Name: "ioBinding true ", Model: Load(true)), (Name: "ioBinding false", Model: Load(false)) };
    var item = ((Serve.Onnx.OnnxModel)models[0].Model).Inputs[0].Shape!.Skip(1).ToArray();
    var random = new Random(1);
    var requests = Enumerable.Range(0, batch)
        .Select(_ => new Tensor<float>(Enumerable.Range(0, (int)item.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)random.NextDouble()).ToArray(), item))
        .ToList();
    var bytes = models.Select(_ => new List<long>()).ToArray();
    var times = models.Select(_ => new List<double>()).ToArray();
    var collections = new int[models.Length];
    // In turns, so that the machine's load (shared with others) falls on both alike; the first round warms up.
    for (var round = 0; round <= rounds; round++)
    {
        for (var turn = 0; turn < models.Length; turn++)
        {
            // Each goes first in every other round: what runs first finds the caches the other left.
            var m = (turn + round) % models.Length;
            var gen0 = GC.CollectionCount(0);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            using (var output = await models[m].Model.RunAsync(requests, default))
            {
            }
            if (round > 0)
            {
                times[m].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                bytes[m].Add(GC.GetAllocatedBytesForCurrentThread() - allocated);
                collections[m] += GC.CollectionCount(0) - gen0;
            }
        }
    }
    Console.WriteLine($"{Path.GetFileName(onnxPath)}, input [{batch}, {string.Join(", ", item)}], {rounds} batches each:");
    for (var m = 0; m < models.Length; m++)
    {
        times[m].Sort();
        bytes[m].Sort();
        Console.WriteLine($"  {models[m].Name}: managed bytes per batch p50 {bytes[m][bytes[m].Count / 2]:N0}; time per batch p50 {times[m][times[m].Count / 2]:F2} ms, " +
            $"mean {times[m].Average():F2} ms; gen0 collections {collections[m]}");
        models[m].Model.Dispose();
    }
    Console.WriteLine($"  the bound model runs with {((Serve.Onnx.OnnxModel)models[0].Model).Execution}");
    return;
}

if (args is ["scale", var modelDirectory, var cyclesText, var workersText, .. var warmupArgs] && warmupArgs.Length <= 1)
{
    // The runtime's tiered JIT recompiles hot methods for a while after start (measured: methods
    // jitted and the JIT's code pages grow for ~15 cycles, then stop; flat with
    // DOTNET_TieredCompilation=0); warm-up cycles let that settle before cycle 1 is counted.
    var warmup = warmupArgs.Length == 1 ? int.Parse(warmupArgs[0], CultureInfo.InvariantCulture) : 0;
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddServe().AddOnnxRuntime().AddTorchSharp().AddServeHandlers();
    using var host = builder.Build();
    await host.StartAsync();
    var manager = host.Services.GetRequiredService<ModelManager>();
    var model = await manager.LoadAsync(new ModelOptions { Name = "scaled", Path = Path.GetFullPath(modelDirectory), Handler = "zeros" }, default);
    var workers = int.Parse(workersText, CultureInfo.InvariantCulture);

    // As many requests in flight as there are workers, so every worker (and a shared session's
    // concurrent runs) is busy at the high point.
    async Task Traffic(int requests, int concurrency)
    {
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            for (var i = 0; i < requests / concurrency; i++)
            {
                var result = await model.InferAsync(new InferenceRequest(new byte[1]), explain: false, default);
                if (!result.IsSuccess) throw new InvalidOperationException(result.ErrorMessage);
            }
        }));
    }

    // Resident memory after a full collection (and malloc_trim) at 1 worker, before any scaling: the baseline.
    static double SettledMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        return ResidentMb();
    }

    await Traffic(64, 1);
    Console.WriteLine($"cycle 0 (1 worker, after load and 64 requests): resident {ResidentMb():F0} MB, {SettledMb():F0} MB after a full collection, {Threads()} threads, copies loaded {model.Copies.Loads}");
    Console.WriteLine($"  {Breakdown()}");
    var retained = new List<double>();
    var all = new List<double>();
    for (var cycle = 1 - warmup; cycle <= int.Parse(cyclesText, CultureInfo.InvariantCulture); cycle++)
    {
        var name = cycle > 0 ? $"cycle {cycle}" : $"warm-up cycle {cycle + warmup}";
        await model.ScaleAsync(workers, workers, default);
        await Traffic(4 * workers, workers);
        var high = ResidentMb();
        var highThreads = Threads();
        var down = Stopwatch.StartNew();
        await model.ScaleAsync(1, 1, default);
        down.Stop();
        // What the server keeps after the scale-down, with nothing forced here: the pool gives
        // back what its retired workers held.
        all.Add(ResidentMb());
        if (cycle > 0) retained.Add(all[^1]);
        var breakdown = Breakdown();
        await Traffic(64, 1);
        Console.WriteLine($"{name}: at {workers} workers {high:F0} MB, {highThreads} threads; scaled down to 1 in {down.ElapsedMilliseconds} ms: " +
            $"resident {all[^1]:F0} MB; after 64 more requests {ResidentMb():F0} MB, {Threads()} threads, copies loaded {model.Copies.Loads}, held {model.Copies.Describe().Count}");
        Console.WriteLine($"  after the scale-down: {breakdown}");
    }
    static string List(IEnumerable<double> values) => string.Join(", ", values.Select(mb => mb.ToString("F0", CultureInfo.InvariantCulture)));
    if (warmup > 0)
    {
        Console.WriteLine($"resident after each warm-up scale-down: {List(all.Take(warmup))} MB");
    }
    if (retained.Count > 1)
    {
        var spread = retained.Skip(1).Max(mb => Math.Abs(mb - retained[0]) / retained[0]);
        Console.WriteLine($"resident after each scale-down: {List(retained)} MB; cycles 2..{retained.Count} within {spread:P1} of cycle 1's {retained[0]:F0} MB");
    }
    await host.StopAsync();
    return;
}

if (args is ["throughput", var benchDirectory, var benchWorkersText, var concurrencyText, var secondsText])
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddServe().AddOnnxRuntime().AddServeHandlers();
    using var host = builder.Build();
    await host.StartAsync();
    var manager = host.Services.GetRequiredService<ModelManager>();
    var model = await manager.LoadAsync(new ModelOptions { Name = "bench", Path = Path.GetFullPath(benchDirectory), Handler = "zeros" }, default);
    var benchWorkers = int.Parse(benchWorkersText, CultureInfo.InvariantCulture);
    await model.ScaleAsync(benchWorkers, benchWorkers, default);
    var seconds = double.Parse(secondsText, CultureInfo.InvariantCulture);
    var count = 0;
    async Task Run(TimeSpan length)
    {
        var end = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, int.Parse(concurrencyText, CultureInfo.InvariantCulture)).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                var result = await model.InferAsync(new InferenceRequest(new byte[1]), explain: false, default);
                if (!result.IsSuccess) throw new InvalidOperationException(result.ErrorMessage);
                Interlocked.Increment(ref count);
            }
        }));
    }
    await Run(TimeSpan.FromSeconds(Math.Min(3, seconds / 3))); // warm-up
    count = 0;
    var clock = Stopwatch.StartNew();
    await Run(TimeSpan.FromSeconds(seconds));
    Console.WriteLine($"{benchWorkers} workers, {concurrencyText} in flight: {count / clock.Elapsed.TotalSeconds:F1} requests/s over {clock.Elapsed.TotalSeconds:F0} s; resident {ResidentMb():F0} MB; {Breakdown()}");
    await host.StopAsync();
    return;
}

Console.Error.WriteLine("usage: EngineBench shapes MODEL.pt REQUESTS true|false | EngineBench iobinding MODEL.onnx BATCH ROUNDS | EngineBench scale MODEL_DIR CYCLES WORKERS [WARMUP] | EngineBench throughput MODEL_DIR WORKERS CONCURRENCY SECONDS");
return;

/// <summary>glibc's mallinfo2: bytes the C heap has in use, free but kept in its arenas, and in mmapped blocks.</summary>
internal static partial class NativeHeapInfo
{
    public static (long InUse, long Free, long Mapped) Read()
    {
        var info = MallInfo2();
        return ((long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks, (long)info.Hblkhd);
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Info
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial Info MallInfo2();
}
