// The engine's focused measurements:
//   EngineBench shapes MODEL.pt REQUESTS PROFILING   a TorchScript model fed 3xHxW inputs of assorted sizes,
//                                                  with torch.profilingExecutor PROFILING (true/false)
//   EngineBench iobinding MODEL.onnx BATCH ROUNDS     one-input ONNX model, ROUNDS batches of BATCH per-request tensors
//                                                  stacked and run, with onnx.ioBinding true and false in turn:
//                                                  managed bytes allocated and time per batch
//   EngineBench scale MODEL_DIR CYCLES WORKERS       cycles of 1 -> WORKERS -> 1 workers under traffic,
//                                                  resident memory at 1 worker after each cycle
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

if (args is ["scale", var modelDirectory, var cyclesText, var workersText])
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddServe().AddOnnxRuntime().AddServeHandlers();
    using var host = builder.Build();
    await host.StartAsync();
    var manager = host.Services.GetRequiredService<ModelManager>();
    var model = await manager.LoadAsync(new ModelOptions { Name = "scaled", Path = Path.GetFullPath(modelDirectory), Handler = "zeros" }, default);
    var workers = int.Parse(workersText, CultureInfo.InvariantCulture);

    async Task Traffic(int requests)
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < requests / 8; i++)
            {
                var result = await model.InferAsync(new InferenceRequest(new byte[1]), explain: false, default);
                if (!result.IsSuccess) throw new InvalidOperationException(result.ErrorMessage);
            }
        }));
    }

    // Resident memory right after a scale-down still holds garbage the GC has not collected yet;
    // after a full collection (and malloc_trim) it is what the server retains.
    static double SettledMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        NativeHeap.Trim();
        return ResidentMb();
    }

    await Traffic(64);
    Console.WriteLine($"cycle 0 (1 worker, after load and 64 requests): resident {ResidentMb():F0} MB, {SettledMb():F0} MB after a full collection, {Threads()} threads, copies loaded {model.Copies.Loads}");
    for (var cycle = 1; cycle <= int.Parse(cyclesText, CultureInfo.InvariantCulture); cycle++)
    {
        await model.ScaleAsync(workers, workers, default);
        await Traffic(256);
        var high = ResidentMb();
        var highThreads = Threads();
        await model.ScaleAsync(1, 1, default);
        await Traffic(64);
        var back = ResidentMb();
        Console.WriteLine($"cycle {cycle}: at {workers} workers {high:F0} MB, {highThreads} threads; back at 1 worker: resident {back:F0} MB, " +
            $"{SettledMb():F0} MB after a full collection, {Threads()} threads, copies loaded {model.Copies.Loads}, held {model.Copies.Describe().Count}");
    }
    await host.StopAsync();
    return;
}

Console.Error.WriteLine("usage: EngineBench shapes MODEL.pt REQUESTS true|false | EngineBench scale MODEL_DIR CYCLES WORKERS");
return;
