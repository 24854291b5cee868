using System;
using System.Collections.Generic;
using System.Globalization;

namespace Serve.Runtime;

/// <summary>What the thread budget of one model is decided from.</summary>
/// <param name="Cores">The cores this process may use (<see cref="Environment.ProcessorCount"/>, which honours cgroup limits and affinity).</param>
/// <param name="Device">The device the model runs on.</param>
/// <param name="Workers">The most workers the model runs (its maxWorkers): each may call the shared model at once.</param>
/// <param name="PreprocessesEachRequest">True when the handler's preprocess runs per request off the workers, on threads of its own.</param>
public readonly record struct ThreadBudgetInputs(int Cores, Device Device, int Workers, bool PreprocessesEachRequest);

/// <summary>
/// How many threads each part of serving one model gets, so that together they keep every core
/// busy without running more threads than cores: the per-request stages (decode, resize), ONNX
/// Runtime's intra- and inter-op pools and whether its pool spins, and libtorch's intra-op
/// threads. <see cref="Decide"/> is the one policy; model-config overrides it (the <c>onnx</c>
/// section's thread keys, <c>torch.numThreads</c>). <see cref="Reason"/> says what was chosen and why, for the load log.
/// </summary>
/// <remarks>
/// The rules, on the CPU: a model whose preprocess runs per request shares the cores with that
/// preprocess (one thread per core, across models), so inference gets half of them; otherwise
/// all. The workers share one session and each caller runs on its own thread besides the pool's,
/// so the pool gets what is left after the workers: max(1, inference cores - workers + 1).
/// A spinning pool burns a core while it waits, taking it from the preprocess, the worker's own
/// stages, other models and the server, so it does not spin unless model-config says so
/// (measured with benchmarks/image-bench.sh: a batch-preprocess handler served fewer requests
/// per CPU-second with a spinning pool). On a GPU the host threads only launch kernels
/// and copy: one intra-op thread, no spinning, and every core for the per-request stages.
/// Inter-op threads serve ONNX Runtime's parallel execution mode only, which Serve does not
/// use: one. libtorch's pool is process-wide, so the last model loaded sets it.
/// </remarks>
public sealed record ThreadBudget
{
    /// <summary>How many per-request stages may run at once (one thread each).</summary>
    public required int RequestStageThreads { get; init; }

    /// <summary>ONNX Runtime's intra-op threads per session (the caller's thread included; 1 means no pool).</summary>
    public required int IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime's inter-op threads.</summary>
    public required int InterOpThreads { get; init; }

    /// <summary>ONNX Runtime's <c>session.intra_op.allow_spinning</c>: whether idle pool threads spin before they sleep.</summary>
    public required bool AllowSpinning { get; init; }

    /// <summary>libtorch's intra-op threads (<c>torch.set_num_threads</c>).</summary>
    public required int TorchThreads { get; init; }

    /// <summary>What was chosen and why, as the load log says it.</summary>
    public required string Reason { get; init; }

    /// <summary>The model-config key for libtorch's threads, in the <c>torch</c> section.</summary>
    public const string TorchThreadsKey = "numThreads";

    /// <summary>The <c>onnx</c> section's thread keys, read here and not by the ONNX backend.</summary>
    public static IReadOnlyCollection<string> OnnxKeys { get; } = ["intraOpNumThreads", "interOpNumThreads", "allowSpinning"];

    /// <summary>Decides the budget for <paramref name="inputs"/>, then applies <paramref name="config"/>'s overrides.</summary>
    /// <exception cref="ModelLoadException">An override is not a whole number of threads (or true/false for allowSpinning); the message names the key.</exception>
    public static ThreadBudget Decide(ThreadBudgetInputs inputs, ModelConfig config)
    {
        var cores = Math.Max(1, inputs.Cores);
        var workers = Math.Max(1, inputs.Workers);
        var reasons = new List<string>();
        int intra;
        if (inputs.Device.Type != DeviceType.Cpu)
        {
            intra = 1;
            reasons.Add($"{inputs.Device} runs the model: 1 host thread each for ONNX Runtime and libtorch, no spinning, {cores} per-request stage threads");
        }
        else
        {
            var inference = inputs.PreprocessesEachRequest ? Math.Max(1, cores / 2) : cores;
            intra = Math.Max(1, inference - workers + 1);
            reasons.Add(inputs.PreprocessesEachRequest
                ? $"{cores} cores shared with the per-request preprocess ({cores} threads): {inference} for inference"
                : $"{cores} cores, all for inference (preprocess runs on the workers)");
            reasons.Add($"{workers} worker(s) share the model, so {intra} intra-op thread(s) each run");
        }

        var budget = new ThreadBudget
        {
            RequestStageThreads = cores,
            IntraOpThreads = intra,
            InterOpThreads = 1,
            AllowSpinning = false,
            TorchThreads = intra,
            Reason = "",
        };
        if (config.Onnx.TryGetValue("intraOpNumThreads", out var text))
        {
            budget = budget with { IntraOpThreads = Threads("onnx.intraOpNumThreads", text, intra) };
            reasons.Add($"onnx.intraOpNumThreads: {text} in model-config");
        }
        if (config.Onnx.TryGetValue("interOpNumThreads", out text))
        {
            budget = budget with { InterOpThreads = Threads("onnx.interOpNumThreads", text, 1) };
            reasons.Add($"onnx.interOpNumThreads: {text} in model-config");
        }
        if (config.Onnx.TryGetValue("allowSpinning", out text))
        {
            budget = budget with { AllowSpinning = Bool("onnx.allowSpinning", text) };
            reasons.Add($"onnx.allowSpinning: {text} in model-config");
        }
        else if (inputs.Device.Type == DeviceType.Cpu)
        {
            reasons.Add(inputs.PreprocessesEachRequest
                ? "the pool does not spin (a spinning thread would take a core from the preprocess)"
                : "the pool does not spin (a waiting thread would burn a core that the worker's own preprocess, other models and the server need; onnx.allowSpinning: true trades that for latency)");
        }
        if (config.Torch.TryGetValue(TorchThreadsKey, out text))
        {
            budget = budget with { TorchThreads = Threads("torch.numThreads", text, intra) };
            reasons.Add($"torch.numThreads: {text} in model-config");
        }
        return budget with
        {
            Reason = $"intra-op {budget.IntraOpThreads}, inter-op {budget.InterOpThreads}, spinning {(budget.AllowSpinning ? "on" : "off")}, " +
                $"libtorch {budget.TorchThreads}, per-request stages {budget.RequestStageThreads}: {string.Join("; ", reasons)}",
        };
    }

    /// <summary>
    /// How many workers a model gets when neither its model-config (minWorkers, maxWorkers) nor its
    /// registration (initial_workers, default_workers_per_model) says: on a GPU,
    /// <see cref="DeviceSelection.BatchesInFlightPerGpu"/> per device the model runs on (TorchServe
    /// starts one per GPU; two keep a batch computing while the next is prepared), else one per
    /// core. Workers on a device share one copy of the model, so a worker costs a thread while it
    /// runs, not a copy; and since <see cref="Decide"/> gives each of them <c>cores / workers</c>
    /// intra-op threads, one worker per core keeps every core on the model however the load
    /// arrives (one worker with a pool of all cores leaves the pool's threads waiting on each other
    /// between requests).
    /// </summary>
    /// <param name="config">The model-config (its deviceType and deviceIds).</param>
    /// <param name="accelerators">What the backend that loads the model can use; <see cref="AcceleratorInventory.None"/> when no backend loads it.</param>
    /// <param name="cores">The cores this process may use.</param>
    public static int DefaultWorkers(ModelConfig config, AcceleratorInventory accelerators, int cores)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.DeviceType != "cpu" && accelerators.CudaDeviceCount > 0)
        {
            return DeviceSelection.BatchesInFlightPerGpu * (config.DeviceIds.Count > 0 ? config.DeviceIds.Count : accelerators.CudaDeviceCount);
        }
        return Math.Max(1, cores);
    }

    /// <summary>A thread count; 0 keeps the policy's choice (ONNX Runtime's own meaning of 0 is "one per core", which is what oversubscribes).</summary>
    private static int Threads(string name, string value, int chosen) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count <= 1024
            ? count == 0 ? chosen : count
            : throw new ModelLoadException($"model-config: '{name}' must be a whole number of threads from 0 (the server's choice) to 1024, not '{value}'.");

    private static bool Bool(string name, string value) => value.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ModelLoadException($"model-config: '{name}' must be true or false, not '{value}'."),
    };
}
