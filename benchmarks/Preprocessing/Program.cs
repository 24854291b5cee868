// Times the image_classifier's preprocessing per image on one thread: the same work as
// torchvision_preprocess.py (PIL open, exif_transpose, convert("RGB"), Resize(256), CenterCrop(224),
// ToTensor, Normalize). Usage: dotnet run -c Release --project benchmarks/Preprocessing -- IMAGE...
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Serve.Handlers;
using Serve.Runtime;

var files = args.Length > 0 ? args : throw new ArgumentException("Name one or more image files.");
var handler = new ImageClassifier();
foreach (var file in files)
{
    var request = new InferenceRequest(File.ReadAllBytes(file));
    for (var i = 0; i < 20; i++)
    {
        handler.Preprocess(request).Dispose(); // warm up: JIT, tiering
    }
    var times = new double[7];
    const int Iterations = 50;
    for (var round = 0; round < times.Length; round++)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < Iterations; i++)
        {
            handler.Preprocess(request).Dispose();
        }
        times[round] = Stopwatch.GetElapsedTime(start).TotalMilliseconds / Iterations;
    }
    Array.Sort(times);
    Console.WriteLine($"{Path.GetFileName(file)}: median {times[times.Length / 2]:F2} ms per image (best {times[0]:F2}, {times.Length} rounds of {Iterations})");
    var decode = Median(() => Serve.Handlers.Vision.ImageDecoder.Decode(request.Body.Span));
    Console.WriteLine($"  of which decode (SkiaSharp, EXIF): median {decode:F2} ms");
}

static double Median(Action action)
{
    var times = new double[7];
    for (var round = 0; round < times.Length; round++)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < 50; i++)
        {
            action();
        }
        times[round] = Stopwatch.GetElapsedTime(start).TotalMilliseconds / 50;
    }
    Array.Sort(times);
    return times[times.Length / 2];
}
