using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// Owns the served models: loads the configured ones before the server listens, loads and
/// unregisters others at run time, scales their workers, and drains them at shutdown.
/// A model that fails to load stops the start with a message naming it.
/// </summary>
public sealed partial class ModelManager : IHostedService
{
    private readonly ConcurrentDictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly IOptions<ServeOptions> _options;
    private readonly HandlerRegistry _handlers;
    private readonly IModelLoader[] _modelLoaders;
    private readonly IHostEnvironment _environment;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly RequestStageLimiter _requestStages = new();
    private readonly ILogger _logger;
    private int _configuredLoaded;

    public ModelManager(
        IOptions<ServeOptions> options,
        HandlerRegistry handlers,
        IEnumerable<IModelLoader> modelLoaders,
        IHostEnvironment environment,
        ILoggerFactory loggerFactory,
        TimeProvider time)
    {
        _options = options;
        _handlers = handlers;
        _modelLoaders = modelLoaders.ToArray();
        _environment = environment;
        _loggerFactory = loggerFactory;
        _time = time;
        _logger = loggerFactory.CreateLogger<ModelManager>();
    }

    /// <summary>The models being served.</summary>
    public IEnumerable<ServedModel> Models => _slots.Values.Select(slot => slot.Model).OfType<ServedModel>();

    /// <summary>True once every model in the configuration is loaded.</summary>
    public bool IsReady => Volatile.Read(ref _configuredLoaded) >= _options.Value.Models.Count;

    /// <summary>
    /// The slot that holds the model served under <paramref name="name"/>, now or once it is
    /// loaded: an endpoint binds it once at startup instead of looking the name up per request.
    /// </summary>
    internal ModelSlot Slot(string name) => _slots.GetOrAdd(name, static name => new ModelSlot(name));

    public bool TryGet(string name, [NotNullWhen(true)] out ServedModel? model)
    {
        model = _slots.TryGetValue(name, out var slot) ? slot.Model : null;
        return model is not null;
    }

    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        foreach (var modelOptions in _options.Value.Models)
        {
            await LoadAsync(modelOptions, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _configuredLoaded);
        }
    }

    async Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        var draining = _slots.Values.Select(slot => slot.Take()).OfType<ServedModel>().Select(model => model.DrainAsync(cancellationToken));
        await Task.WhenAll(draining).ConfigureAwait(false);
    }

    /// <summary>Reads a model directory, starts its workers (each initializes a handler) and serves it.</summary>
    public async Task<ServedModel> LoadAsync(ModelOptions modelOptions, CancellationToken cancellationToken)
    {
        // A relative model path is relative to the content root, not the working directory.
        modelOptions = new ModelOptions
        {
            Name = modelOptions.Name,
            Path = System.IO.Path.GetFullPath(modelOptions.Path, _environment.ContentRootPath),
            Handler = modelOptions.Handler,
            SerializedFile = modelOptions.SerializedFile,
        };
        var (manifest, config) = ModelDirectory.Read(modelOptions);
        var handlerName = manifest.Handler!;
        if (!_handlers.TryGet(handlerName, out var registration))
        {
            var known = string.Join(", ", _handlers.Names.Order(StringComparer.Ordinal));
            throw new ModelLoadException(
                $"Model '{manifest.ModelName}' asks for handler '{handlerName}', which is not registered (registered: {(known.Length == 0 ? "none" : known)}). " +
                "Handlers are classes marked [Handler(\"name\")]; call services.AddServeHandlers() in the assembly that holds them.");
        }

        var slot = Slot(manifest.ModelName);
        var modelLogger = _loggerFactory.CreateLogger("Serve.Model." + manifest.ModelName);
        var workers = 0;
        async ValueTask<(IHandler, HandlerContext)> InitializeAsync(IHandler handler, int workerIndex, CancellationToken token)
        {
            var context = new HandlerContext(manifest, modelOptions.Path)
            {
                ModelConfig = config,
                Logger = modelLogger,
                ModelLoaders = _modelLoaders,
                WorkerIndex = workerIndex,
            };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(TimeSpan.FromSeconds(config.StartupTimeout));
            try
            {
                await handler.InitializeAsync(context, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not ModelLoadException)
            {
                context.Model?.Dispose();
                throw new ModelLoadException($"Model '{manifest.ModelName}': handler '{handlerName}' failed to initialize: {e.Message}", e);
            }
            return (handler, context);
        }

        // A per-request preprocess runs on a handler of its own, off the workers: the one made to ask.
        var first = registration.Create();
        (IHandler, HandlerContext)? requestStages = first.PreprocessesEachRequest
            ? await InitializeAsync(first, workerIndex: 0, cancellationToken).ConfigureAwait(false)
            : null;
        // Worker i takes device i in turn (the backends' device selection); a replacement takes the next index.
        var model = new ServedModel(manifest, config, first.CanExplain, requestStages,
            token => InitializeAsync(registration.Create(), Interlocked.Increment(ref workers) - 1, token), _requestStages, _time, modelLogger);
        try
        {
            await model.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await model.DrainAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        if (!slot.TrySet(model))
        {
            await model.DrainAsync(CancellationToken.None).ConfigureAwait(false);
            throw new InvalidOperationException($"A model named '{manifest.ModelName}' is already being served.");
        }
        LogModelReady(_logger, manifest.ModelName, manifest.ModelVersion, handlerName, model.WorkerCount, config.BatchSize, config.MaxBatchDelay);
        return model;
    }

    /// <summary>Starts or retires workers of a model; false when no such model is served.</summary>
    public async Task<bool> ScaleAsync(string name, int workers, CancellationToken cancellationToken)
    {
        if (!TryGet(name, out var model))
        {
            return false;
        }
        await model.ScaleAsync(workers, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Stops serving a model: new requests get 404, queued ones still run. False when no such model is served.</summary>
    public async Task<bool> UnregisterAsync(string name, CancellationToken cancellationToken)
    {
        if (!_slots.TryGetValue(name, out var slot) || slot.Take() is not { } model)
        {
            return false;
        }
        await model.DrainAsync(cancellationToken).ConfigureAwait(false);
        LogUnregistered(_logger, name);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {ModelName} {Version} with handler {Handler}: {Workers} workers, batch size {BatchSize}, max batch delay {MaxBatchDelay} ms")]
    private static partial void LogModelReady(ILogger logger, string modelName, string version, string handler, int workers, int batchSize, int maxBatchDelay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName} unregistered")]
    private static partial void LogUnregistered(ILogger logger, string modelName);
}

/// <summary>Where the model served under one name is found; empty while none is loaded.</summary>
internal sealed class ModelSlot(string name)
{
    private ServedModel? _model;

    public string Name { get; } = name;

    /// <summary>The model served under <see cref="Name"/>, or null.</summary>
    public ServedModel? Model => Volatile.Read(ref _model);

    internal bool TrySet(ServedModel model) => Interlocked.CompareExchange(ref _model, model, null) is null;

    internal ServedModel? Take() => Interlocked.Exchange(ref _model, null);
}
