using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>What <see cref="ModelManager.UnregisterAsync(string, string?, System.Threading.CancellationToken)"/> did.</summary>
public enum UnregisterOutcome
{
    Unregistered,
    ModelNotFound,
    VersionNotFound,

    /// <summary>The version asked for is the default and others remain: TorchServe refuses it, so do we.</summary>
    IsDefaultVersion,
}

/// <summary>
/// Owns the served models: loads the configured ones before the server listens, loads and
/// unregisters others at run time, scales their workers, and drains them at shutdown.
/// A name may have several versions (TorchServe's ModelVersionedRefs): the first registered is
/// the default until another is made so; requests without a version go to the default.
/// A configured model that fails to load at start does not stop the server: it is reported as
/// failed (describe, the log at Error, the <c>ts_model_failed</c> gauge) while the others serve.
/// </summary>
public sealed partial class ModelManager : IHostedService
{
    private readonly ConcurrentDictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ModelFailure> _failures = new(StringComparer.Ordinal);
    private readonly IOptions<ServeOptions> _options;
    private readonly HandlerRegistry _handlers;
    private readonly IModelLoader[] _modelLoaders;
    private readonly IHostEnvironment _environment;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly RequestStageLimiter _requestStages = new();
    private readonly ILogger _logger;
    private readonly IMeterFactory? _meters;
    private int _configuredLoaded;

    // TorchServe numbers workers by their port, from 9000, unique across the server.
    private int _lastWorkerId = 8999;

    public ModelManager(
        IOptions<ServeOptions> options,
        HandlerRegistry handlers,
        IEnumerable<IModelLoader> modelLoaders,
        IHostEnvironment environment,
        ILoggerFactory loggerFactory,
        TimeProvider time,
        IMeterFactory? meters = null)
    {
        _options = options;
        _handlers = handlers;
        _modelLoaders = modelLoaders.ToArray();
        _environment = environment;
        _loggerFactory = loggerFactory;
        _time = time;
        _logger = loggerFactory.CreateLogger<ModelManager>();
        _meters = meters;
        var meter = meters?.Create(QueueMetrics.MeterName) ?? new Meter(QueueMetrics.MeterName);
        meter.CreateObservableGauge("ts_model_failed", FailedMeasurements, description:
            "1 for each model version that failed to load and is still registered; describe's error says why.");
    }

    /// <summary>Models that failed before they could be served (an archive or model-config refused at start); describe and DELETE reach them.</summary>
    public IReadOnlyCollection<ModelFailure> Failures => [.. _failures.Values];

    /// <summary>The failure recorded for <paramref name="name"/> at start, if it has one.</summary>
    public bool TryGetFailure(string name, [NotNullWhen(true)] out ModelFailure? failure) => _failures.TryGetValue(name, out failure);

    /// <summary>Every model that failed to load and is still registered: those refused at start and the versions whose workers failed to start.</summary>
    public IReadOnlyList<ModelFailure> Failed() =>
    [
        .. _failures.Values,
        .. _slots.Values.SelectMany(slot => slot.Versions).Where(m => m.Status == ModelStatus.Failed)
            .Select(m => new ModelFailure(m.Name, m.Version, m.Error ?? "failed to load")),
    ];

    private IEnumerable<Measurement<int>> FailedMeasurements() =>
        Failed().Select(f => new Measurement<int>(1, new KeyValuePair<string, object?>("model_name", f.Name), new KeyValuePair<string, object?>("model_version", f.Version ?? "")));

    /// <summary>The default version of each model name.</summary>
    public IEnumerable<ServedModel> Models => _slots.Values.Select(slot => slot.Model).OfType<ServedModel>();

    /// <summary>True once every model in the configuration is loaded (or failed to).</summary>
    public bool IsReady => Volatile.Read(ref _configuredLoaded) >= _options.Value.Models.Count;

    /// <summary>
    /// TorchServe's ping (<c>ApiUtils.isModelHealthy</c>): true once the models configured at
    /// start are loaded, while the default version of every model listed can serve its minWorkers.
    /// False for a model whose workers failed to start (Failed), one refused at start and kept
    /// listed as failed (<see cref="Failures"/>: TorchServe would not list it; here describe shows
    /// it FAILED, so it counts), or one left short of its minWorkers by a scaling that failed to
    /// start a worker. TorchServe retries failed workers for max_retry_timeout_in_sec and is healthy
    /// meanwhile; here nothing retries until a scale, so it is unhealthy at once. Workers starting
    /// (a background registration, a scale up) count. Unregistering the model makes it healthy again.
    /// </summary>
    public bool IsHealthy => IsReady && _failures.IsEmpty && Models.All(model =>
        model.Status != ModelStatus.Failed && (model.Error is null || model.WorkerCount >= model.MinWorkers));

    /// <summary>
    /// The slot that holds the models served under <paramref name="name"/>, now or once loaded:
    /// an endpoint binds it once at startup instead of looking the name up per request.
    /// </summary>
    internal ModelSlot Slot(string name) => _slots.GetOrAdd(name, static name => new ModelSlot(name));

    /// <summary>The default version of the model named <paramref name="name"/>.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out ServedModel? model)
    {
        model = _slots.TryGetValue(name, out var slot) ? slot.Model : null;
        return model is not null;
    }

    /// <summary>Version <paramref name="version"/> of the model named <paramref name="name"/>; the default version when null.</summary>
    public bool TryGet(string name, string? version, [NotNullWhen(true)] out ServedModel? model)
    {
        model = !_slots.TryGetValue(name, out var slot) ? null : version is null ? slot.Model : slot.Version(version);
        return model is not null;
    }

    /// <summary>Every version served under <paramref name="name"/>, in the order they were registered; empty when none.</summary>
    public IReadOnlyList<ServedModel> Versions(string name) => _slots.TryGetValue(name, out var slot) ? slot.Versions : [];

    /// <summary>Makes <paramref name="version"/> the default of <paramref name="name"/>; false when no such version is served.</summary>
    public bool SetDefault(string name, string version) => _slots.TryGetValue(name, out var slot) && slot.SetDefault(version);

    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        foreach (var modelOptions in _options.Value.Models)
        {
            await LoadAtStartAsync(modelOptions, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _configuredLoaded);
        }
    }

    /// <summary>
    /// Loads one configured model; a failure is logged and recorded, not thrown, so one broken
    /// model does not keep the others from serving. A model whose workers fail to start stays
    /// registered as Failed (a scale retries it); one refused before that is kept as a <see cref="ModelFailure"/>.
    /// </summary>
    private async Task LoadAtStartAsync(ModelOptions modelOptions, CancellationToken cancellationToken)
    {
        if (modelOptions.Failure is { } reason)
        {
            RecordFailure(new ModelFailure(modelOptions.Name, null, reason));
            return;
        }
        ServedModel model;
        ModelSlot slot;
        int workers;
        try
        {
            (model, slot, workers) = Prepare(modelOptions);
        }
        catch (Exception e) when (e is ModelLoadException or InvalidOperationException)
        {
            RecordFailure(new ModelFailure(modelOptions.Name, null, e.Message));
            return;
        }
        if (!slot.TryAdd(model))
        {
            RecordFailure(new ModelFailure(model.Name, model.Version, AlreadyRegistered(model).Message));
            return;
        }
        var started = Stopwatch.GetTimestamp();
        LogLoading(_logger, model.Name, model.Version, workers);
        try
        {
            await model.StartAsync(workers, cancellationToken).ConfigureAwait(false);
            LogModelReady(_logger, model.Name, model.Version, model.Manifest.Handler!, model.WorkerCount, model.Config.BatchSize, model.Config.MaxBatchDelay,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogStartFailed(_logger, e, model.Name, model.Version, e.Message);
        }
    }

    private void RecordFailure(ModelFailure failure)
    {
        _failures[failure.Name] = failure;
        LogStartFailed(_logger, null, failure.Name, failure.Version ?? "(unknown)", failure.Reason);
    }

    async Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        var draining = _slots.Values.SelectMany(slot => slot.TakeAll()).Select(model => model.DrainAsync(cancellationToken));
        await Task.WhenAll(draining).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a model directory, starts its workers (each initializes a handler) and serves it once
    /// they run: until then requests do not see it.
    /// </summary>
    /// <exception cref="ModelLoadException">The directory, its config or its handler is wrong, or a worker failed to initialize.</exception>
    /// <exception cref="InvalidOperationException">The name already serves that version.</exception>
    public async Task<ServedModel> LoadAsync(ModelOptions modelOptions, CancellationToken cancellationToken)
    {
        var (model, slot, workers) = Prepare(modelOptions);
        var started = Stopwatch.GetTimestamp();
        LogLoading(_logger, model.Name, model.Version, workers);
        try
        {
            await model.StartAsync(workers, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await model.DrainAsync(CancellationToken.None, unregistered: true).ConfigureAwait(false); // never served: its series go too
            throw;
        }
        if (!slot.TryAdd(model))
        {
            await model.DrainAsync(CancellationToken.None, unregistered: true).ConfigureAwait(false); // never served: its series go too
            throw AlreadyRegistered(model);
        }
        _failures.TryRemove(model.Name, out _);
        LogModelReady(_logger, model.Name, model.Version, model.Manifest.Handler!, model.WorkerCount, model.Config.BatchSize, model.Config.MaxBatchDelay,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return model;
    }

    /// <summary>
    /// Registers the model at once, Loading, and starts its workers in the background (TorchServe's
    /// <c>synchronous=false</c>): requests get 503 until it is Ready. A failure to start leaves it
    /// registered as Failed, with the reason in <see cref="ServedModel.Error"/> and the log.
    /// </summary>
    /// <exception cref="ModelLoadException">The directory, its config or its handler is wrong (found before answering).</exception>
    /// <exception cref="InvalidOperationException">The name already serves that version.</exception>
    public ServedModel LoadInBackground(ModelOptions modelOptions)
    {
        var (model, slot, workers) = Prepare(modelOptions);
        if (!slot.TryAdd(model))
        {
            throw AlreadyRegistered(model);
        }
        _failures.TryRemove(model.Name, out _);
        LogLoading(_logger, model.Name, model.Version, workers);
        _ = StartAsync();
        return model;

        async Task StartAsync()
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await model.StartAsync(workers, CancellationToken.None).ConfigureAwait(false);
                LogModelReady(_logger, model.Name, model.Version, model.Manifest.Handler!, model.WorkerCount, model.Config.BatchSize, model.Config.MaxBatchDelay,
                    (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (Exception e)
            {
                LogLoadFailed(_logger, e, model.Name, model.Version, e.Message);
            }
        }
    }

    /// <summary>What the backend that will load the model's serialized file can run it on; none when no backend reads it (the load says why).</summary>
    private AcceleratorInventory Accelerators(ModelManifest manifest, string directory)
    {
        if (manifest.SerializedFile is not { Length: > 0 } file)
        {
            return AcceleratorInventory.None;
        }
        string path;
        try
        {
            path = ModelFiles.Resolve(directory, file, "serialized file");
        }
        catch (ModelLoadException)
        {
            return AcceleratorInventory.None; // refused when a worker loads it, with the reason
        }
        foreach (var loader in _modelLoaders)
        {
            if (loader.CanLoad(path))
            {
                return loader.Accelerators;
            }
        }
        return AcceleratorInventory.None;
    }

    /// <summary>Reads the directory, applies what registration overrides, and makes the model (not started yet).</summary>
    private (ServedModel Model, ModelSlot Slot, int Workers) Prepare(ModelOptions modelOptions)
    {
        // A relative model path is relative to the content root, not the working directory.
        var path = System.IO.Path.GetFullPath(modelOptions.Path, _environment.ContentRootPath);
        var (manifest, archiveConfig) = ModelDirectory.Read(new ModelOptions
        {
            Name = modelOptions.Name,
            Path = path,
            Handler = modelOptions.Handler,
            SerializedFile = modelOptions.SerializedFile,
        });
        var limit = _options.Value.MaxWorkersPerModel;
        var defaultWorkers = Math.Min(limit, ThreadBudget.DefaultWorkers(archiveConfig, Accelerators(manifest, path), Environment.ProcessorCount));
        var config = RegisterSettings.Apply(modelOptions, archiveConfig, archiveConfig.ConfiguredKeys, defaultWorkers);
        try
        {
            ServedModel.CheckWorkers(config.MinWorkers, config.MaxWorkers, limit);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ModelLoadException($"Model '{manifest.ModelName}': {e.Message.Split(" (Parameter")[0]}", e);
        }

        var handlerName = manifest.Handler!;
        if (!_handlers.TryGet(handlerName, out var registration))
        {
            var known = string.Join(", ", _handlers.Names.Order(StringComparer.Ordinal));
            throw new ModelLoadException(
                $"Model '{manifest.ModelName}' asks for handler '{handlerName}', which is not registered (registered: {(known.Length == 0 ? "none" : known)}). " +
                "Handlers are classes marked [Handler(\"name\")]; call services.AddServeHandlers() in the assembly that holds them.");
        }

        var slot = Slot(manifest.ModelName);
        if (slot.Version(manifest.ModelVersion) is { } existing)
        {
            throw AlreadyRegistered(existing);
        }
        var modelLogger = _loggerFactory.CreateLogger("Serve.Model." + manifest.ModelName);
        var meters = new ModelMeters(manifest.ModelName, manifest.ModelVersion, _meters);
        var handlerMetrics = new HandlerMetrics(manifest.ModelName, meters);
        var workerIndexes = 0;
        // One copy of the model per device, shared by the workers (where the backend's model is thread-safe).
        var copies = new ModelCopies();
        // Made to ask what the handler can do; where it preprocesses each request, it runs those stages, off the workers.
        var first = registration.Create();
        var preprocessing = first is IRequestPreprocessingHandler { PreprocessesEachRequest: true } each ? each : null;
        async ValueTask<(IHandler, HandlerContext)> InitializeAsync(IHandler handler, int workerIndex, CancellationToken token, string? role = null, bool perRequestStagesOnly = false)
        {
            var context = new HandlerContext(manifest, path)
            {
                ModelConfig = config,
                Logger = modelLogger,
                ModelLoaders = _modelLoaders,
                WorkerIndex = workerIndex,
                Metrics = handlerMetrics,
                Copies = copies,
                RunsPerRequestStagesOnly = perRequestStagesOnly,
                PreprocessesEachRequest = preprocessing is not null,
            };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(TimeSpan.FromSeconds(config.StartupTimeout));
            var started = Stopwatch.GetTimestamp();
            try
            {
                await handler.InitializeAsync(context, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !token.IsCancellationRequested)
            {
                context.ReleaseModel();
                throw StartupTimedOut(e);
            }
            catch (Exception e) when (e is not ModelLoadException)
            {
                context.ReleaseModel();
                throw new ModelLoadException($"Model '{manifest.ModelName}': handler '{handlerName}' failed to initialize: {e.Message}", e);
            }
            // A handler that does not watch the token is held to the timeout all the same (TorchServe fails such a worker).
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(config.StartupTimeout))
            {
                context.ReleaseModel();
                throw StartupTimedOut(null);
            }
            LogHandlerInitialized(modelLogger, manifest.ModelName, manifest.ModelVersion, role ?? $"worker {workerIndex}", context.Device.ToString(), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return (handler, context);
        }

        ModelStartException StartupTimedOut(Exception? inner) => new(
            $"Model '{manifest.ModelName}': handler '{handlerName}' did not initialize within the startup timeout of {config.StartupTimeout} s (startup_timeout, model-config's startupTimeout).", inner);

        WorkerFactory? requestStages = preprocessing is not null
            ? token => InitializeAsync(preprocessing, workerIndex: 0, token, "the per-request preprocess handler", perRequestStagesOnly: true)
            : null;
        // Worker i takes device i in turn (the backends' device selection); a replacement takes the next index.
        var model = new ServedModel(manifest, config, requestStages,
            token => InitializeAsync(registration.Create(), Interlocked.Increment(ref workerIndexes) - 1, token), _requestStages, _time, modelLogger,
            () => Interlocked.Increment(ref _lastWorkerId))
        {
            WorkerLimit = limit,
            Meters = meters,
            Copies = copies,
            // Explainers run the model too: device 0's copy, shared with its workers where the model is thread-safe.
            Explanations = first is IExplainingHandler
                ? new ExplanationLane(token => InitializeAsync(registration.Create(), workerIndex: 0, token, "the explanation handler"),
                    _options.Value.MaxConcurrentExplanations, ServedModel.ResponseTimeout(config), _time, modelLogger)
                : null,
        };
        return (model, slot, model.MinWorkers);
    }

    private static InvalidOperationException AlreadyRegistered(ServedModel model) =>
        new($"Model version {model.Version} is already registered for model {model.Name}");

    /// <summary>Starts or retires workers of a model's default version; false when no such model is served.</summary>
    public async Task<bool> ScaleAsync(string name, int workers, CancellationToken cancellationToken)
    {
        if (!TryGet(name, out var model))
        {
            return false;
        }
        await model.ScaleAsync(workers, Math.Max(workers, model.MaxWorkers), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Stops serving a model: new requests get 404, queued ones still run. False when no such model is served.</summary>
    public async Task<bool> UnregisterAsync(string name, CancellationToken cancellationToken) =>
        await UnregisterAsync(name, null, cancellationToken).ConfigureAwait(false) == UnregisterOutcome.Unregistered;

    /// <summary>
    /// Stops serving one version (the default when <paramref name="version"/> is null): requests
    /// for it get 404 from now on, those already queued still run. The default version cannot be
    /// removed while other versions remain (TorchServe's rule: set another default first).
    /// </summary>
    public async Task<UnregisterOutcome> UnregisterAsync(string name, string? version, CancellationToken cancellationToken)
    {
        if (!_slots.TryGetValue(name, out var slot) || slot.Versions.Length == 0)
        {
            return _failures.TryGetValue(name, out var failure) && (version is null || version == failure.Version) && _failures.TryRemove(name, out _)
                ? UnregisterOutcome.Unregistered
                : UnregisterOutcome.ModelNotFound;
        }
        var (outcome, model) = slot.Remove(version);
        if (model is null)
        {
            return outcome;
        }
        await model.DrainAsync(cancellationToken, unregistered: true).ConfigureAwait(false);
        LogUnregistered(_logger, name, model.Version);
        return UnregisterOutcome.Unregistered;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loading model {ModelName} version {Version}: starting {Workers} workers")]
    private static partial void LogLoading(ILogger logger, string modelName, string version, int workers);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName} version {Version}: {Handler} initialized on {Device} in {Milliseconds} ms")]
    private static partial void LogHandlerInitialized(ILogger logger, string modelName, string version, string handler, string device, long milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {ModelName} {Version} with handler {Handler}: {Workers} workers, batch size {BatchSize}, max batch delay {MaxBatchDelay} ms; loaded in {Milliseconds} ms")]
    private static partial void LogModelReady(ILogger logger, string modelName, string version, string handler, int workers, int batchSize, int maxBatchDelay, long milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName} version {Version} failed to load in the background: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, Exception exception, string modelName, string version, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName} version {Version} failed to load at start; the other models serve on: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, Exception? exception, string modelName, string version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName} version {Version} unregistered")]
    private static partial void LogUnregistered(ILogger logger, string modelName, string version);
}

/// <summary>A model that could not be served: its name, its version when known, and why.</summary>
public sealed record ModelFailure(string Name, string? Version, string Reason);

/// <summary>
/// Workers failed to start for a reason of the server's, not of the archive: the startup timeout
/// passed. TorchServe answers such a registration 500 "Failed to start workers".
/// </summary>
public sealed class ModelStartException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// The versions served under one name and which is the default; empty while none is loaded.
/// Requests read <see cref="Model"/> without a lock; changes take the lock.
/// </summary>
internal sealed class ModelSlot(string name)
{
    private readonly Lock _gate = new();
    private readonly List<ServedModel> _versions = [];
    private ServedModel? _default;

    public string Name { get; } = name;

    /// <summary>The default version served under <see cref="Name"/>, or null.</summary>
    public ServedModel? Model => Volatile.Read(ref _default);

    /// <summary>Every version, in the order registered.</summary>
    public ServedModel[] Versions
    {
        get
        {
            lock (_gate)
            {
                return [.. _versions];
            }
        }
    }

    public ServedModel? Version(string version)
    {
        lock (_gate)
        {
            return _versions.Find(model => model.Version == version);
        }
    }

    /// <summary>Adds a version; the first becomes the default. False when that version is already there.</summary>
    internal bool TryAdd(ServedModel model)
    {
        lock (_gate)
        {
            if (_versions.Exists(existing => existing.Version == model.Version))
            {
                return false;
            }
            _versions.Add(model);
            if (_default is null)
            {
                Volatile.Write(ref _default, model);
            }
            return true;
        }
    }

    internal bool SetDefault(string version)
    {
        lock (_gate)
        {
            var model = _versions.Find(m => m.Version == version);
            if (model is not null)
            {
                Volatile.Write(ref _default, model);
            }
            return model is not null;
        }
    }

    /// <summary>Removes a version (the default when null); refuses the default while others remain.</summary>
    internal (UnregisterOutcome Outcome, ServedModel? Model) Remove(string? version)
    {
        lock (_gate)
        {
            if (_versions.Count == 0)
            {
                return (UnregisterOutcome.ModelNotFound, null);
            }
            var model = version is null ? _default : _versions.Find(m => m.Version == version);
            if (model is null)
            {
                return (version is null ? UnregisterOutcome.ModelNotFound : UnregisterOutcome.VersionNotFound, null);
            }
            if (model == _default && _versions.Count > 1)
            {
                return (UnregisterOutcome.IsDefaultVersion, null);
            }
            _versions.Remove(model);
            if (model == _default)
            {
                Volatile.Write(ref _default, null);
            }
            return (UnregisterOutcome.Unregistered, model);
        }
    }

    internal ServedModel[] TakeAll()
    {
        lock (_gate)
        {
            ServedModel[] all = [.. _versions];
            _versions.Clear();
            Volatile.Write(ref _default, null);
            return all;
        }
    }
}
