namespace Serve.Server;

/// <summary>The sizes every protocol enforces alike, from <see cref="ServeOptions"/>.</summary>
/// <param name="MaxRequestSize">The largest request body, in bytes (TorchServe's max_request_size).</param>
/// <param name="MaxResponseSize">The largest answer, in bytes (TorchServe's max_response_size).</param>
public readonly record struct InferenceLimits(long MaxRequestSize, long MaxResponseSize);
