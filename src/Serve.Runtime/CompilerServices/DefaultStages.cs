using System.ComponentModel;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Serve.Runtime.CompilerServices;

/// <summary>The stages a handler gets when it declares none of its own.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static partial class DefaultStages
{
    /// <summary>
    /// TorchServe's default initialize: load the manifest's serialized file with the backend
    /// that reads it into <see cref="HandlerContext.Model"/>, on the device chosen for this
    /// worker, and read the label map (<c>index_to_name.json</c>) if the model has one. A model
    /// without a serialized file has no model to load. The handler that runs per-request stages
    /// is given the workers' copy (<see cref="ModelCopies"/>), so that an initialize that reads the
    /// model (its inputs, to choose a tokenizer) works there too, and nothing is loaded again.
    /// </summary>
    public static ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (context.Labels is { } labels)
        {
            LogLabelsLoaded(context.Logger, context.ModelName, labels.Count);
        }
        if (context.SerializedFilePath is null)
        {
            return ValueTask.CompletedTask;
        }
        var start = Stopwatch.GetTimestamp();
        context.Model = context.LoadModel();
        context.Metrics.RecordStage(HandlerStage.Initialize, start);
        LogModelLoaded(context.Logger, context.ModelName, context.Model.Backend, context.Device.ToString(), context.DeviceReason,
            Stopwatch.GetElapsedTime(start).TotalMilliseconds, context.Copies?.Loads ?? 1);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {ModelName} with {Backend} on {Device} ({DeviceReason}) in {Milliseconds:F1} ms; copies loaded: {Loads}")]
    private static partial void LogModelLoaded(ILogger logger, string modelName, string backend, string device, string deviceReason, double milliseconds, int loads);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: read {Count} class names from index_to_name.json")]
    private static partial void LogLabelsLoaded(ILogger logger, string modelName, int count);
}
