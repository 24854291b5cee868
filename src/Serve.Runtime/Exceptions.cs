using System;

namespace Serve.Runtime;

/// <summary>
/// Thrown by a handler stage when a request's input is unusable (not an image, wrong shape...).
/// The client gets 400 with this message. From a per-request preprocess only that request
/// fails; the rest of the batch goes on.
/// </summary>
public class InvalidRequestException : Exception
{
    /// <summary>A refusal with the message the client sees.</summary>
    public InvalidRequestException(string message) : base(message)
    {
    }

    /// <summary>A refusal with the message the client sees, and the error behind it.</summary>
    public InvalidRequestException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>A handler stage failed; the message names the handler and the stage.</summary>
public sealed class HandlerStageException : Exception
{
    /// <summary>The <paramref name="stage"/> of handler <paramref name="handlerName"/> threw <paramref name="innerException"/>.</summary>
    public HandlerStageException(string handlerName, HandlerStage stage, Exception innerException)
        : base($"The {stage.DisplayName()} stage of handler '{handlerName}' failed: {innerException.Message}", innerException)
    {
        HandlerName = handlerName;
        Stage = stage;
    }

    /// <summary>The name of the handler whose stage failed.</summary>
    public string HandlerName { get; }

    /// <summary>The stage that failed.</summary>
    public HandlerStage Stage { get; }

    /// <summary>True when the stage rejected its input rather than failing on its own.</summary>
    public bool IsInvalidRequest => InnerException is InvalidRequestException;
}

/// <summary>A model could not be loaded: a missing file, a bad manifest or config, no backend.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>A load failure with a message that says what is missing or wrong.</summary>
    public ModelLoadException(string message) : base(message)
    {
    }

    /// <summary>A load failure with a message that says what is wrong, and the error behind it.</summary>
    public ModelLoadException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
