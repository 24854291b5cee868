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
    /// <remarks>
    /// The server may read a body into a pooled array and reuse it once the request is answered and
    /// the handler's call on its batch has returned, as ASP.NET Core reuses a request's buffers: copy
    /// it (<c>ToArray()</c>) to keep it longer, e.g. in a cache or a task that outlives the call.
    /// </remarks>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The request's Content-Type header, if any.</summary>
    public string? ContentType { get; }

    /// <summary>Request headers, looked up without regard to case.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Query string parameters (the last value wins where a name repeats).</summary>
    public IReadOnlyDictionary<string, string> QueryParameters { get; }

    // The per-request preprocess's output, typed: a Preprocessed<T> for the handler's T.
    private Preprocessed? _preprocessed;

    /// <summary>True when the server already ran the handler's per-request preprocess on this request.</summary>
    public bool IsPreprocessed => _preprocessed is not null;

    /// <summary>This request, carrying the output of the handler's per-request preprocess (<see cref="IRequestPreprocessingHandler.PreprocessAsync"/>) to its batched stages.</summary>
    public InferenceRequest WithPreprocessed<T>(T input) =>
        new(Body, ContentType, Headers, QueryParameters) { _preprocessed = new Preprocessed<T>(input) };

    /// <summary>The per-request preprocess's output, when <see cref="IsPreprocessed"/>; false when it has not run.</summary>
    /// <exception cref="InvalidOperationException">The request carries the output of a preprocess of another type (another handler's).</exception>
    public bool TryGetPreprocessed<T>(out T input)
    {
        switch (_preprocessed)
        {
            case null:
                input = default!; // read only when true
                return false;
            case Preprocessed<T> typed:
                input = typed.Value;
                return true;
            default:
                throw new InvalidOperationException(
                    $"This request carries a preprocessed {_preprocessed.Type.FullName}, not the {typeof(T).FullName} this handler's preprocess returns.");
        }
    }

    private abstract class Preprocessed(Type type)
    {
        public Type Type { get; } = type;
    }

    private sealed class Preprocessed<T>(T value) : Preprocessed(typeof(T))
    {
        public T Value { get; } = value;
    }
}
