// Dispatch per call: the generated IHandler, the same stages called by hand, and by reflection.
//   dotnet run -c Release --project benchmarks/Dispatch -- [--quick] [--json FILE]
// --quick runs BenchmarkDotNet's short job (3 iterations); --json writes one object per case
// (mean ns, bytes allocated per call) for benchmarks/run.sh's table.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Benchmarks.Dispatch;

var quick = args.Contains("--quick");
var jsonIndex = Array.IndexOf(args, "--json");
var config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    // In process: no generated project to build (it would inherit this repository's build rules).
    .AddJob((quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
var summary = BenchmarkRunner.Run<DispatchBenchmarks>(config);

var rows = summary.Reports.Where(r => r.ResultStatistics is not null).Select(r => string.Create(CultureInfo.InvariantCulture,
    $"{{\"case\":\"{r.BenchmarkCase.Descriptor.WorkloadMethod.Name}\",\"batch\":{r.BenchmarkCase.Parameters["Batch"]},\"mean_ns\":{r.ResultStatistics!.Mean:F1},\"error_ns\":{r.ResultStatistics.StandardError:F1},\"bytes\":{r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase) ?? -1}}}"));
var json = "[" + string.Join(",", rows) + "]";
if (jsonIndex >= 0 && jsonIndex + 1 < args.Length)
{
    File.WriteAllText(args[jsonIndex + 1], json);
}
Console.WriteLine(json);
return summary.Reports.All(r => r.Success) ? 0 : 1;
