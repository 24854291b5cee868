// The image benchmark's two halves (benchmarks/image-bench.sh runs both):
//   ImageBench serve --urls http://127.0.0.1:PORT      Serve with models "mobilenet" and "mobilenet-batch"
//   ImageBench inprocess IMAGE SECONDS THREADS          the same decode + resize + inference, no server
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Benchmarks.ImageBench;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve.Server;

var model = Path.Combine(AppContext.BaseDirectory, "model");
if (args.Length >= 4 && args[0] == "inprocess")
{
    var image = File.ReadAllBytes(args[1]);
    var duration = TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    var threads = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
    using var session = new InferenceSession(Path.Combine(model, "mobilenet.onnx"));
    var done = 0L;
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var stopwatch = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, threads).Select(index => new Thread(() =>
    {
        while (stopwatch.Elapsed < duration)
        {
            var input = ImageInput.ToTensor(image);
            var batch = new DenseTensor<float>(input.Buffer, [1, 3, ImageInput.Side, ImageInput.Side]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("image", batch)]);
            _ = Top.Classes((DenseTensor<float>)results[0].AsTensor<float>());
            Interlocked.Increment(ref done);
        }
    })).ToArray();
    foreach (var worker in workers) worker.Start();
    foreach (var worker in workers) worker.Join();
    var seconds = stopwatch.Elapsed.TotalSeconds;
    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
    Console.WriteLine($"in-process, {threads} threads: {done / seconds:F1} requests/s, CPU {cpu / seconds * 100:F0}%, {done / cpu:F1} requests per CPU-second ({done} in {seconds:F1} s)");
    return;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services
    .AddServe(options =>
    {
        options.Models.Add(new ModelOptions { Name = "mobilenet", Path = model });
        options.Models.Add(new ModelOptions { Name = "mobilenet-batch", Path = model, Handler = "mobilenet-batch" });
    })
    .AddOnnxRuntime()
    .AddServeHandlers();
var app = builder.Build();
app.MapServeEndpoints();
app.Run();
