// The image benchmark's .NET side; benchmarks/run.sh runs both halves (docs/benchmarks.md):
//   ImageBench serve --urls URL --model FILE [--batch-sizes 1,8,32]
//       Serves the attribute-written "classifier" once per batch size (classifier-b1, -b8, ...;
//       batches above 1 wait at most 5 ms), "classifier-batch-b8" (its preprocess over the batch), the "echo" handler, and POST /bare, a bare Kestrel
//       endpoint writing the echo's answer.
//   ImageBench versions
//       .NET, ONNX Runtime and TorchSharp versions as this build loads them, as JSON.
//   ImageBench ceiling --backend onnx|torchscript --model FILE --image FILE --seconds S --warmup S --threads T
//                      [--stage full|preprocess|model] [--batch N] [--device cpu|cuda]
//       The same work with no server; prints one JSON line.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Benchmarks.ImageBench;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serve.Server;

var options = Arguments.Parse(args.Skip(1));
switch (args.FirstOrDefault())
{
    case "ceiling":
        Console.WriteLine(Ceiling.Run(new CeilingSettings(
            options.Get("backend", "onnx"), options.Get("model"), options.Get("image"),
            double.Parse(options.Get("seconds", "10"), CultureInfo.InvariantCulture),
            int.Parse(options.Get("threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            options.Get("stage", "full"),
            int.Parse(options.Get("batch", "1"), CultureInfo.InvariantCulture),
            options.Get("device", "cpu"),
            double.Parse(options.Get("warmup", "0"), CultureInfo.InvariantCulture))));
        return 0;
    case "versions":
        Console.WriteLine(Versions.Json());
        return 0;
    case "serve":
        Serve(options);
        return 0;
    default:
        Console.Error.WriteLine("usage: ImageBench serve --urls URL --model FILE [--batch-sizes 1,8,32] | ceiling --model FILE --image FILE ... (see Program.cs)");
        return 2;
}

static void Serve(Arguments options)
{
    var model = Path.GetFullPath(options.Get("model"));
    var empty = Directory.CreateTempSubdirectory("imagebench-echo-").FullName;
    var batchSizes = options.Get("batch-sizes", "1,8,32").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture));
    var builder = WebApplication.CreateSlimBuilder([$"--urls={options.Get("urls")}"]);
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Logging.AddFilter("Serve", LogLevel.Information); // "Loaded model ... on DEVICE": the suite reads it
    builder.Services
        .AddServe(serve =>
        {
            foreach (var size in batchSizes)
            {
                serve.Models.Add(new ModelOptions
                {
                    Name = $"classifier-b{size}", Path = Path.GetDirectoryName(model)!, SerializedFile = Path.GetFileName(model),
                    Handler = "classifier", BatchSize = size, MaxBatchDelay = size > 1 ? 5 : null,
                });
            }
            serve.Models.Add(new ModelOptions
            {
                Name = "classifier-batch-b8", Path = Path.GetDirectoryName(model)!, SerializedFile = Path.GetFileName(model),
                Handler = "classifier-batch", BatchSize = 8, MaxBatchDelay = 5,
            });
            serve.Models.Add(new ModelOptions { Name = "echo", Path = empty });
        })
        .AddOnnxRuntime()
        .AddServeHandlers();
    var app = builder.Build();
    app.MapServeEndpoints();
    // The floor: Kestrel and routing, reading the body and writing the same JSON, nothing else.
    app.MapPost("/bare", async (HttpRequest request) =>
    {
        var length = 0;
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0)
        {
            length += read;
        }
        return Results.Text($"{{\"length\":{length}}}", "application/json");
    });
    app.Lifetime.ApplicationStopped.Register(() => Directory.Delete(empty, recursive: true));
    app.Run();
}
