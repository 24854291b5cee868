using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// Loads the configured models before the server starts listening, and stops their workers
/// when it shuts down. A model that fails to load stops the start with a message naming it.
/// </summary>
public sealed partial class ModelStartup(
    IOptions<ServeOptions> options,
    HandlerRegistry handlers,
    ModelRegistry models,
    IEnumerable<IModelLoader> modelLoaders,
    IHostEnvironment environment,
    ILoggerFactory loggerFactory) : IHostedService
{
    private readonly IModelLoader[] _modelLoaders = modelLoaders.ToArray();
    private readonly ILogger _logger = loggerFactory.CreateLogger<ModelStartup>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var modelOptions in options.Value.Models)
        {
            models.Add(await LoadAsync(modelOptions, cancellationToken).ConfigureAwait(false));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var model in models.Models.ToArray())
        {
            if (models.TryRemove(model.Name, out var removed))
            {
                await removed.Worker.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads a model directory, makes its handler and initializes it.</summary>
    public async Task<ServedModel> LoadAsync(ModelOptions modelOptions, CancellationToken cancellationToken)
    {
        // A relative model path is relative to the content root, not the working directory.
        modelOptions = new ModelOptions
        {
            Name = modelOptions.Name,
            Path = System.IO.Path.GetFullPath(modelOptions.Path, environment.ContentRootPath),
            Handler = modelOptions.Handler,
            SerializedFile = modelOptions.SerializedFile,
        };
        var (manifest, config) = ModelDirectory.Read(modelOptions);
        var notHonoured = string.Join("; ", config.NotYetHonoured());
        if (notHonoured.Length > 0)
        {
            LogNotHonoured(_logger, manifest.ModelName, notHonoured);
        }
        var handlerName = manifest.Handler!;
        if (!handlers.TryGet(handlerName, out var registration))
        {
            var known = string.Join(", ", handlers.Names.Order(StringComparer.Ordinal));
            throw new ModelLoadException(
                $"Model '{manifest.ModelName}' asks for handler '{handlerName}', which is not registered (registered: {(known.Length == 0 ? "none" : known)}). " +
                "Handlers are classes marked [Handler(\"name\")]; call services.AddServeHandlers() in the assembly that holds them.");
        }

        var context = new HandlerContext(manifest, modelOptions.Path)
        {
            ModelConfig = config,
            Logger = loggerFactory.CreateLogger("Serve.Model." + manifest.ModelName),
            ModelLoaders = _modelLoaders,
        };
        var handler = registration.Create();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(config.StartupTimeout));
        try
        {
            await handler.InitializeAsync(context, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"Model '{manifest.ModelName}': handler '{handlerName}' failed to initialize: {e.Message}", e);
        }

        LogModelReady(_logger, manifest.ModelName, manifest.ModelVersion, handlerName, config.BatchSize);
        return new ServedModel(context, new ModelWorker(handler, context));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {ModelName}: model-config settings read but not acted on yet: {Settings}")]
    private static partial void LogNotHonoured(ILogger logger, string modelName, string settings);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving model {ModelName} {Version} with handler {Handler} (batch size {BatchSize})")]
    private static partial void LogModelReady(ILogger logger, string modelName, string version, string handler, int batchSize);
}
