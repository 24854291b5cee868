using System;
using System.Collections.Generic;

namespace Serve.Runtime;

/// <summary>One client request as a handler sees it: the body and what came with it.</summary>
public sealed class InferenceRequest
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    /// <summary>A request with its body and, optionally, its content type, headers and query parameters.</summary>
    public InferenceRequest(
        ReadOnlyMemory<byte> body,
        string? contentType = null,
        IReadOnlyDictionary<string, string>? headers = null,
        IReadOnlyDictionary<string, string>? queryParameters = null)
    {
        Body = body;
        ContentType = contentType;
        Headers = headers ?? None;
        QueryParameters = queryParameters ?? None;
    }

    /// <summary>The request body, as sent.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The request's Content-Type header, if any.</summary>
    public string? ContentType { get; }

    /// <summary>Request headers, looked up without regard to case.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Query string parameters (the last value wins where a name repeats).</summary>
    public IReadOnlyDictionary<string, string> QueryParameters { get; }

    /// <summary>True when the server already ran the handler's per-request preprocess on this request.</summary>
    public bool IsPreprocessed { get; private init; }

    /// <summary>The per-request preprocess's output, when <see cref="IsPreprocessed"/>.</summary>
    public object? PreprocessedInput { get; private init; }

    /// <summary>This request, carrying the output of <see cref="IRequestPreprocessingHandler.PreprocessAsync"/> to the batched stages.</summary>
    public InferenceRequest WithPreprocessedInput(object? input) =>
        new(Body, ContentType, Headers, QueryParameters) { IsPreprocessed = true, PreprocessedInput = input };
}
