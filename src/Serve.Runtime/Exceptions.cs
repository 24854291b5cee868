using System;

namespace Serve.Runtime;

/// <summary>
/// Thrown by a handler stage when a request's input is unusable (not an image, wrong shape...).
/// The client gets 400 with this message. From a per-request preprocess only that request
/// fails; the rest of the batch goes on.
/// </summary>
public class InvalidRequestException : Exception
{
    public InvalidRequestException(string message) : base(message)
    {
    }

    public InvalidRequestException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>A handler stage failed; the message names the handler and the stage.</summary>
public sealed class HandlerStageException : Exception
{
    public HandlerStageException(string handlerName, HandlerStage stage, Exception innerException)
        : base($"The {stage.DisplayName()} stage of handler '{handlerName}' failed: {innerException.Message}", innerException)
    {
        HandlerName = handlerName;
        Stage = stage;
    }

    public string HandlerName { get; }

    public HandlerStage Stage { get; }

    /// <summary>True when the stage rejected its input rather than failing on its own.</summary>
    public bool IsInvalidRequest => InnerException is InvalidRequestException;
}

/// <summary>A model could not be loaded: a missing file, a bad manifest or config, no backend.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string message) : base(message)
    {
    }

    public ModelLoadException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
