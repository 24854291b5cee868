namespace Serve.Server.Http;

/// <summary>Why a request was refused before it reached a model: an HTTP status, a TorchServe error type and a message for the client.</summary>
internal sealed record RequestError(int StatusCode, string Type, string Message)
{
    public const string InvalidRequest = "InvalidRequestException";

    public static RequestError Invalid(string message) => new(400, InvalidRequest, message);
}
