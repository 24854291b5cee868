using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Serve.Runtime;

namespace Benchmarks.Dispatch;

/// <summary>One call of <see cref="IHandler.HandleAsync"/> on a batch, three ways; the stages are the same methods.</summary>
public class DispatchBenchmarks
{
    private readonly IHandler _generated = new ScaleHandler();
    private readonly IHandler _handWritten = new HandWrittenScaleHandler();
    private readonly IHandler _reflection = new ReflectionHandler(typeof(ScaleHandler));
    private readonly HandlerContext _context = new(new ModelManifest { ModelName = "scale" }, Path.GetTempPath()) { Metrics = new HandlerMetrics("scale") };
    private InferenceRequest[] _batch = [];

    [Params(1, 8)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _batch = new InferenceRequest[Batch];
        for (var i = 0; i < Batch; i++)
        {
            _batch[i] = new InferenceRequest(new byte[] { 42 });
        }
    }

    [Benchmark(Baseline = true)]
    public ValueTask<IReadOnlyList<InferenceResult>> HandWritten() => _handWritten.HandleAsync(_batch, _context, default);

    [Benchmark]
    public ValueTask<IReadOnlyList<InferenceResult>> Generated() => _generated.HandleAsync(_batch, _context, default);

    [Benchmark]
    public ValueTask<IReadOnlyList<InferenceResult>> Reflection() => _reflection.HandleAsync(_batch, _context, default);
}
