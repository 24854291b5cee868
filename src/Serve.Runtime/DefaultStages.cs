using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace Serve.Runtime;

/// <summary>The stages a handler gets when it declares none of its own.</summary>
public static partial class DefaultStages
{
    /// <summary>
    /// TorchServe's default initialize: load the manifest's serialized file with the backend
    /// that reads it into <see cref="HandlerContext.Model"/>. A model without a serialized file
    /// has nothing to load.
    /// </summary>
    public static ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (context.SerializedFilePath is null)
        {
            return ValueTask.CompletedTask;
        }
        var start = Stopwatch.GetTimestamp();
        context.Model = context.LoadModel();
        context.Metrics.RecordStage(HandlerStage.Initialize, start);
        LogModelLoaded(context.Logger, context.ModelName, context.Model.Backend, context.Device.ToString(),
            Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {ModelName} with {Backend} on {Device} in {Milliseconds:F1} ms")]
    private static partial void LogModelLoaded(ILogger logger, string modelName, string backend, string device, double milliseconds);
}
