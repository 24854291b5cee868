using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Serve.Runtime;

/// <summary>
/// What a handler knows about the model it serves (TorchServe's <c>context</c>): names, files,
/// configuration, device, metrics, logger, and the model its initialize loaded.
/// One per worker, so a handler may keep per-worker state in <see cref="Model"/>.
/// </summary>
public sealed class HandlerContext
{
    /// <summary>The context of the model <paramref name="manifest"/> describes, unpacked in <paramref name="modelDirectory"/>.</summary>
    public HandlerContext(ModelManifest manifest, string modelDirectory)
    {
        Manifest = manifest;
        ModelDirectory = Path.GetFullPath(modelDirectory);
        Metrics = new HandlerMetrics(manifest.ModelName);
    }

    /// <summary>The model's name, from its manifest.</summary>
    public string ModelName => Manifest.ModelName;

    /// <summary>The model's version, from its manifest.</summary>
    public string ModelVersion => Manifest.ModelVersion;

    /// <summary>The unpacked model directory: the serialized file, extra files, config.</summary>
    public string ModelDirectory { get; }

    /// <summary>The model archive's manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>The model's model-config.yaml settings.</summary>
    public ModelConfig ModelConfig { get; init; } = ModelConfig.Default;

    /// <summary>
    /// The device the model runs on. <see cref="LoadModel"/> chooses it with
    /// <see cref="DeviceSelection"/> from what the backend finds; a backend that cannot use it
    /// (e.g. no CUDA libraries) falls back and sets it, with the reason in <see cref="DeviceReason"/>.
    /// </summary>
    public Device Device { get; set; } = Device.Cpu;

    /// <summary>Why <see cref="Device"/> was chosen, as the logs say it.</summary>
    public string DeviceReason { get; set; } = "the default";

    /// <summary>This worker's index among the model's workers; with several GPUs, worker i takes GPU i in turn.</summary>
    public int WorkerIndex { get; init; }

    /// <summary>
    /// The class names from the model directory's <c>index_to_name.json</c>, or null when it has
    /// none. Read on first use; the default initialize reads it, so a bad file fails the load.
    /// </summary>
    public LabelMap? Labels
    {
        get
        {
            if (!_labelsRead)
            {
                _labels = LabelMap.Load(ModelDirectory);
                _labelsRead = true;
            }
            return _labels;
        }
    }

    private LabelMap? _labels;
    private bool _labelsRead;

    /// <summary>The most requests one <see cref="IHandler.HandleAsync"/> call receives.</summary>
    public int BatchSize => ModelConfig.BatchSize;

    /// <summary>The model's stage timings.</summary>
    public HandlerMetrics Metrics { get; init; }

    /// <summary>The logger for this model's handler.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>The backends that can load a model file, in order of preference.</summary>
    public IReadOnlyList<IModelLoader> ModelLoaders { get; init; } = [];

    /// <summary>The full path of the manifest's serialized file, or null when it names none.</summary>
    public string? SerializedFilePath =>
        Manifest.SerializedFile is { Length: > 0 } file ? Path.Combine(ModelDirectory, file) : null;

    /// <summary>The model loaded at initialize; the default inference stage runs it.</summary>
    public IModel? Model { get; set; }

    /// <summary>
    /// The model's copies, one per device, shared by its workers; the server sets it. Without it
    /// (a handler run alone, in a test) <see cref="LoadModel"/> loads a copy of its own.
    /// </summary>
    public ModelCopies? Copies { get; init; }

    /// <summary>
    /// True for the context of the handler instance that runs only per-request stages (preprocess
    /// as each request arrives): <see cref="LoadModel"/> gives it a copy the workers already
    /// loaded, never a new one. A preprocess must not run a model that is not thread-safe
    /// (<see cref="IModel.IsThreadSafe"/>): that copy is a worker's.
    /// </summary>
    public bool RunsPerRequestStagesOnly { get; init; }

    /// <summary>True when the handler's preprocess runs per request, on threads of its own (for <see cref="Threads"/>).</summary>
    public bool PreprocessesEachRequest { get; init; }

    /// <summary>The cores the model's threads are budgeted from.</summary>
    public int Cores { get; init; } = Environment.ProcessorCount;

    /// <summary>The thread budget for the model on <see cref="Device"/>, with model-config's overrides (<see cref="ThreadBudget.Decide"/>).</summary>
    /// <exception cref="ModelLoadException">A thread override in model-config is not valid.</exception>
    public ThreadBudget Threads =>
        ThreadBudget.Decide(new ThreadBudgetInputs(Cores, Device, Math.Max(1, ModelConfig.MaxWorkers), PreprocessesEachRequest), ModelConfig);

    private IModel? _copy;

    /// <summary>
    /// Gives the model back: the shared copy <see cref="LoadModel"/> returned goes back to
    /// <see cref="Copies"/> (the last user disposes it), any other model is disposed.
    /// </summary>
    public void ReleaseModel()
    {
        var model = Model;
        Model = null;
        if (_copy is { } copy)
        {
            _copy = null;
            Copies!.Release(copy);
            if (ReferenceEquals(model, copy))
            {
                return;
            }
        }
        model?.Dispose();
    }

    /// <summary>
    /// Loads the serialized file with the first backend that can read it, on the device
    /// <see cref="DeviceSelection"/> chooses from that backend's accelerators.
    /// </summary>
    /// <exception cref="ModelLoadException">No serialized file, the file is missing, or no backend reads it.</exception>
    public IModel LoadModel()
    {
        var path = SerializedFilePath
            ?? throw new ModelLoadException($"Model '{ModelName}' names no serialized file in its manifest, so there is nothing to load.");
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"Model '{ModelName}': the serialized file '{path}' does not exist.");
        }
        foreach (var loader in ModelLoaders)
        {
            if (loader.CanLoad(path))
            {
                try
                {
                    (Device, DeviceReason) = DeviceSelection.Select(ModelConfig, WorkerIndex, loader.Accelerators);
                }
                catch (ModelLoadException e)
                {
                    throw new ModelLoadException($"Model '{ModelName}': {e.Message}", e);
                }
                if (Copies is null)
                {
                    return loader.Load(this);
                }
                if (_copy is not null)
                {
                    throw new InvalidOperationException($"Model '{ModelName}': this worker already holds a copy of the model; LoadModel is called once per worker.");
                }
                return _copy = Copies.Acquire(this, () => loader.Load(this));
            }
        }
        var backends = ModelLoaders.Count == 0 ? "none is registered" : "registered: " + string.Join(", ", Backends());
        throw new ModelLoadException(
            $"Model '{ModelName}': no backend can load '{Path.GetFileName(path)}' ({backends}). " +
            "Register one: services.AddOnnxRuntime() for .onnx, services.AddTorchSharp() for TorchScript and weights " +
            "(the native AOT `serve` binary and the Serve.Tool package serve ONNX only: TorchSharp cannot be compiled ahead of time, " +
            "and libtorch would make the tool package hundreds of megabytes; `dotnet run --project src/Serve.Cli` serves both).");
    }

    /// <summary>
    /// The loaded model as one that runs <typeparamref name="TInput"/> to <typeparamref name="TOutput"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No model is loaded, or it does not run these types.</exception>
    public IModel<TInput, TOutput> GetModel<TInput, TOutput>()
    {
        if (Model is null)
        {
            throw new InvalidOperationException(
                $"Model '{ModelName}' has no loaded model: an [Initialize] stage that replaces the default must set context.Model, or declare an [Inference] stage.");
        }
        return Model as IModel<TInput, TOutput> ?? throw new InvalidOperationException(
            $"The {Model.Backend} model of '{ModelName}' does not run {typeof(TInput)} to {typeof(TOutput)}; " +
            "change the preprocess output or postprocess input types, or declare an [Inference] stage.");
    }

    private IEnumerable<string> Backends()
    {
        foreach (var loader in ModelLoaders)
        {
            yield return loader.Backend;
        }
    }
}
