using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>Why a request body was refused before it reached a model: an error kind and a message for the client.</summary>
internal sealed record RequestError(InferenceErrorKind Kind, string Message)
{
    /// <summary>The HTTP status every protocol answers this error with.</summary>
    public int StatusCode => HttpInference.Status(Kind);

    public static RequestError Invalid(string message) => new(InferenceErrorKind.InvalidRequest, message);
}
