using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Benchmarks.ImageBench;

/// <param name="Stage">full: decode + resize + crop + normalize + model (batch 1) + softmax top 5, as the server does per request;
/// preprocess: the image part alone; model: the model alone on a batch of <paramref name="Batch"/> prepared images.</param>
/// <param name="WarmupSeconds">How long the same loop runs first, unmeasured, so the JIT's tiers have settled (as the servers get).</param>
public sealed record CeilingSettings(string Backend, string Model, string Image, double Seconds, int Threads, string Stage, int Batch, string Device, double WarmupSeconds = 0);

/// <summary>
/// The in-process ceiling: the server's work with no server, on <c>Threads</c> threads, each with
/// its own single-threaded model run (intra-op 1) for the full and preprocess stages, so the
/// threads are the only parallelism and none competes with another's pool.
/// </summary>
public static class Ceiling
{
    public static string Run(CeilingSettings settings)
    {
        var image = File.ReadAllBytes(settings.Image);
        var batch = settings.Stage == "model" ? settings.Batch : 1;
        // The model stage alone may use the cores the threads leave (a GPU does not care).
        var intraOp = settings.Stage == "model" ? Math.Max(1, Environment.ProcessorCount / settings.Threads) : 1;
        var runners = settings.Stage == "preprocess"
            ? []
            : Enumerable.Range(0, settings.Threads).Select(_ => Runner.Load(settings.Backend, settings.Model, settings.Device, intraOp)).ToArray();
        try
        {
            var prepared = ImageTransforms.ImageNetInput(new InferenceRequest(image));
            var batchInput = new float[batch * prepared.Length];
            for (var i = 0; i < batch; i++)
            {
                prepared.Span.CopyTo(batchInput.AsSpan(i * (int)prepared.Length));
            }
            Action<int> work = settings.Stage switch
            {
                "full" => thread =>
                {
                    using var input = ImageTransforms.ImageNetInput(new InferenceRequest(image));
                    using var logits = runners[thread].Run(input.Memory, 1);
                    _ = TopFive.Of(logits);
                },
                "preprocess" => _ => ImageTransforms.ImageNetInput(new InferenceRequest(image)).Dispose(),
                "model" => thread => runners[thread].Run(batchInput, batch).Dispose(),
                _ => throw new ArgumentException($"Unknown --stage '{settings.Stage}': full, preprocess or model."),
            };
            if (settings.WarmupSeconds > 0)
            {
                Measure(work, settings.Threads, TimeSpan.FromSeconds(settings.WarmupSeconds));
            }
            var (count, seconds, cpuSeconds) = Measure(work, settings.Threads, TimeSpan.FromSeconds(settings.Seconds));
            var device = runners.Length > 0 ? runners[0].Device : "cpu";
            return string.Create(CultureInfo.InvariantCulture,
                $"{{\"backend\":\"{settings.Backend}\",\"stage\":\"{settings.Stage}\",\"device\":\"{Json(device)}\",\"threads\":{settings.Threads},\"intra_op\":{intraOp},\"batch\":{batch}," +
                $"\"images\":{count * batch},\"seconds\":{seconds:F2},\"images_per_s\":{count * batch / seconds:F1},\"cpu_percent\":{cpuSeconds / seconds * 100:F0}}}");
        }
        finally
        {
            foreach (var runner in runners)
            {
                runner.Dispose();
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on each thread, warmed up, for <paramref name="duration"/>; counts the calls.</summary>
    private static (long Count, double Seconds, double CpuSeconds) Measure(Action<int> work, int threads, TimeSpan duration)
    {
        for (var thread = 0; thread < threads; thread++)
        {
            for (var i = 0; i < 3; i++)
            {
                work(thread);
            }
        }
        var done = 0L;
        using var start = new Barrier(threads + 1);
        var stopwatch = new Stopwatch();
        var workers = Enumerable.Range(0, threads).Select(thread => new Thread(() =>
        {
            start.SignalAndWait();
            while (stopwatch.Elapsed < duration)
            {
                work(thread);
                Interlocked.Increment(ref done);
            }
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        stopwatch.Start();
        start.SignalAndWait();
        foreach (var worker in workers)
        {
            worker.Join();
        }
        var seconds = stopwatch.Elapsed.TotalSeconds;
        return (done, seconds, (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
    }

    private static string Json(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

/// <summary>One thread's model: a [batch, 3, 224, 224] float input to the logits.</summary>
public abstract class Runner : IDisposable
{
    /// <summary>Where it runs, and why when that is not what was asked.</summary>
    public abstract string Device { get; }

    public abstract Tensor<float> Run(Memory<float> input, int batch);

    public abstract void Dispose();

    public static Runner Load(string backend, string model, string device, int intraOp) => backend switch
    {
        "onnx" => new OnnxRunner(model, device, intraOp),
#if SERVE_TORCH
        "torchscript" => device == "cpu" ? new TorchScriptRunner(model, intraOp) : throw new ArgumentException("The TorchScript ceiling runs on the CPU only: the feed's libtorch is the CPU build."),
#endif
        _ => throw new ArgumentException($"Unknown or not compiled in: --backend '{backend}' (onnx; torchscript in the JIT build)."),
    };

    protected static long[] ImageShape(int batch) => [batch, 3, 224, 224];
}

public sealed class OnnxRunner : Runner
{
    private readonly InferenceSession _session;
    private readonly string[] _inputs;
    private readonly string[] _outputs;
    private readonly RunOptions _runOptions = new();

    public OnnxRunner(string model, string device, int intraOp)
    {
        using var options = new SessionOptions { IntraOpNumThreads = intraOp, InterOpNumThreads = 1 };
        Device = "cpu";
        if (device == "cuda")
        {
            try
            {
                options.AppendExecutionProvider_CUDA(0);
                Device = "cuda:0";
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                // The CUDA-to-CPU fallback, said in the result so that no CPU figure passes for a GPU one.
                Device = $"cpu (CUDA unavailable: {e.Message.Split('\n')[0]})";
            }
        }
        _session = new InferenceSession(model, options);
        _inputs = [_session.InputMetadata.Keys.First()];
        _outputs = [_session.OutputMetadata.Keys.First()];
    }

    public override string Device { get; }

    public override Tensor<float> Run(Memory<float> input, int batch)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input, ImageShape(batch));
        using var results = _session.Run(_runOptions, _inputs, [value], _outputs);
        var logits = results[0].GetTensorDataAsSpan<float>().ToArray();
        return new Tensor<float>(logits, batch, logits.Length / batch);
    }

    public override void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}

#if SERVE_TORCH
public sealed class TorchScriptRunner : Runner
{
    private readonly TorchSharp.torch.jit.ScriptModule _module;

    public TorchScriptRunner(string model, int intraOp)
    {
        TorchSharp.torch.set_num_threads(intraOp);
        // The allocator setting the server's TorchSharp loader makes (NativeHeap.KeepFreeTop), so the ceiling has it too.
        global::Serve.Runtime.NativeHeap.KeepFreeTop(64 << 20);
        _module = TorchSharp.torch.jit.load(model);
        _module.eval();
    }

    public override string Device => "cpu";

    public override Tensor<float> Run(Memory<float> input, int batch)
    {
        using (TorchSharp.torch.NewDisposeScope())
        using (TorchSharp.torch.inference_mode())
        {
            var x = TorchSharp.torch.tensor(input, ImageShape(batch));
            var logits = ((TorchSharp.torch.Tensor)_module.call(x)).data<float>().ToArray();
            return new Tensor<float>(logits, batch, logits.Length / batch);
        }
    }

    public override void Dispose() => _module.Dispose();
}
#endif
