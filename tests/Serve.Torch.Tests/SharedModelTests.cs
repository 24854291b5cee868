using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>
/// What TorchSharp models share across a model's workers: a TorchScript module, one copy run
/// from several threads at once; a C# module, one copy per worker (it is the user's code); and
/// the thread and executor settings the load applies.
/// </summary>
public class SharedModelTests
{
    private static HandlerContext[] Workers(string fixture, int count, string config = "")
    {
        var first = Fixtures.Context(fixture, config: config);
        var copies = new ModelCopies();
        return [.. Enumerable.Range(0, count).Select(i => new HandlerContext(first.Manifest, first.ModelDirectory)
        {
            ModelConfig = first.ModelConfig, ModelLoaders = first.ModelLoaders, WorkerIndex = i, Copies = copies,
        })];
    }

    [Fact]
    public void Workers_share_one_TorchScript_module_and_run_it_on_their_own_threads_at_once()
    {
        var workers = Workers("tiny.torchscript.pt", 4);
        foreach (var worker in workers)
        {
            worker.Model = worker.LoadModel();
        }

        Assert.Equal(1, workers[0].Copies!.Loads);
        Assert.All(workers, w => Assert.Same(workers[0].Model, w.Model));
        var differences = new float[workers.Length];
        Parallel.For(0, workers.Length, new ParallelOptions { MaxDegreeOfParallelism = workers.Length }, i =>
        {
            for (var run = 0; run < 20; run++)
            {
                using var output = ((TorchModel)workers[i].Model!).RunAsync(Fixtures.Tiny.InputTensor(), default).AsTask().Result;
                differences[i] = Math.Max(differences[i], Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output));
            }
        });
        Assert.All(differences, d => Assert.InRange(d, 0f, ModelFormatTests.Tolerance));

        foreach (var worker in workers)
        {
            worker.ReleaseModel();
        }
        Assert.Empty(workers[0].Copies!.Describe());
    }

    [Fact]
    public void Each_worker_loads_its_own_CSharp_module()
    {
        var workers = Workers("tiny.state_dict.pt", 2);
        foreach (var worker in workers)
        {
            worker.Model = worker.LoadModel();
        }

        Assert.Equal(2, workers[0].Copies!.Loads);
        Assert.NotSame(workers[0].Model, workers[1].Model);
        foreach (var worker in workers)
        {
            worker.ReleaseModel();
        }
    }

    [Fact]
    public void Libtorch_gets_the_budgets_threads_and_the_log_says_why()
    {
        var log = new LogLines();
        var context = Fixtures.Context("tiny.torchscript.pt", config: "torch:\n  numThreads: 1\n");
        context = new HandlerContext(context.Manifest, context.ModelDirectory) { ModelConfig = context.ModelConfig, ModelLoaders = context.ModelLoaders, Logger = log };

        using (context.LoadModel())
        {
        }

        // libtorch's pool is process-wide and other tests load models at the same time: the log, not get_num_threads, is what this load chose.
        Assert.Contains(log.Lines, l => l.StartsWith("Model tiny on cpu: threads intra-op", StringComparison.Ordinal)
            && l.Contains("libtorch 1,", StringComparison.Ordinal) && l.Contains("torch.numThreads: 1 in model-config", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.StartsWith("Model tiny: TorchScript runs on the simple executor, profiling off", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("torch:\n  threads: 2", "unknown model-config option 'torch.threads'")]
    [InlineData("torch:\n  profilingExecutor: maybe", "'torch.profilingExecutor' must be true or false, not 'maybe'.")]
    public void Bad_torch_options_are_refused_by_name(string config, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Fixtures.Context("tiny.torchscript.pt", config: config).LoadModel());

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void The_profiling_executor_switch_reaches_libtorch()
    {
        using (Fixtures.Context("tiny.torchscript.pt").LoadModel())
        {
        }

        // libtorch's entry points resolve (null where they do not). The value is process-wide
        // and other tests' loads set it at the same time, so what it was is not asserted here.
        Assert.NotNull(TorchScriptExecutor.SetProfiling(false));
    }

    [Fact]
    public void Model_config_can_turn_the_profiling_executor_back_on()
    {
        var log = new LogLines();
        var context = Fixtures.Context("tiny.torchscript.pt", config: "torch:\n  profilingExecutor: true\n");
        context = new HandlerContext(context.Manifest, context.ModelDirectory) { ModelConfig = context.ModelConfig, ModelLoaders = context.ModelLoaders, Logger = log };

        using (context.LoadModel())
        {
        }
        TorchScriptExecutor.SetProfiling(false);

        Assert.Contains("Model tiny: TorchScript runs on the profiling executor (torch.profilingExecutor: true): it compiles a graph for every new input shape", log.Lines);
    }

    private sealed class LogLines : Microsoft.Extensions.Logging.ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }
}
