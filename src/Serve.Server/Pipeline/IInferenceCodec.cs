using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// One protocol's half of an inference call: what the call asks for, its input as
/// <see cref="InferenceRequest"/>s, and the answer or error in the protocol's wire format.
/// <see cref="InferencePipeline.RunAsync{TCall, TInput}"/> does everything in between (model
/// lookup, queue, inference, response limit, cancellation), the same for every protocol.
/// </summary>
/// <typeparam name="TCall">The protocol's call: an <c>HttpContext</c>, or a gRPC request with its response.</typeparam>
/// <typeparam name="TInput">What the codec decoded from the call and needs again to write the answer.</typeparam>
public interface IInferenceCodec<TCall, TInput>
{
    /// <summary>The model, version and verb the call asks for.</summary>
    InferenceTarget Target(TCall call);

    /// <summary>
    /// Reads the call's input within the server's limits (<see cref="InferencePipeline.Limits"/>)
    /// and turns it into one or more requests; a refused input comes back as <see cref="Decoded{TInput}.Error"/>.
    /// </summary>
    ValueTask<Decoded<TInput>> DecodeAsync(TCall call, InferencePipeline pipeline, CancellationToken cancellationToken);

    /// <summary>Writes the answer: one successful result per decoded request, in order.</summary>
    Task WriteAsync(TCall call, ServedModel model, TInput input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken);

    /// <summary>Writes an error in the protocol's format; <paramref name="error"/> is a failed result.</summary>
    Task WriteErrorAsync(TCall call, InferenceResult error, CancellationToken cancellationToken);
}

/// <summary>A codec's decoded input: the requests to run and what it keeps for the answer, or why the input was refused.</summary>
public readonly record struct Decoded<TInput>(TInput Input, IReadOnlyList<InferenceRequest> Requests, InferenceResult? Error)
{
    /// <summary>Input the pipeline runs.</summary>
    public static Decoded<TInput> Of(TInput input, IReadOnlyList<InferenceRequest> requests) => new(input, requests, null);

    /// <summary>Input refused: <paramref name="kind"/> and a message for the client.</summary>
    public static Decoded<TInput> Refused(InferenceErrorKind kind, string message) => new(default!, [], InferenceResult.Error(kind, message));

    /// <summary>The pooled array every request's body lies in, which the pipeline releases; null for bodies of their own.</summary>
    internal PooledBody? Body { get; init; }
}
