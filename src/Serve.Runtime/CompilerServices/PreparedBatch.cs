using System.Collections.Generic;
using System.ComponentModel;

namespace Serve.Runtime.CompilerServices;

/// <summary>
/// The output of a per-request preprocess over a batch: the inputs of the requests it accepted,
/// in order, and a failed result for each request it rejected. Generated handlers use it so that
/// one bad request fails alone while the rest of the batch goes on.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PreparedBatch<T>
{
    private readonly List<T> _inputs;
    private InferenceResult?[]? _rejected;
    private readonly int _batchCount;

    /// <summary>A prepared batch for <paramref name="batchCount"/> requests.</summary>
    public PreparedBatch(int batchCount)
    {
        _batchCount = batchCount;
        _inputs = new List<T>(batchCount);
    }

    /// <summary>The accepted requests' inputs, in batch order.</summary>
    public IReadOnlyList<T> Inputs => _inputs;

    /// <summary>True when every request was rejected.</summary>
    public bool IsEmpty => _inputs.Count == 0;

    /// <summary>Adds the input of the next accepted request.</summary>
    public void Add(T input) => _inputs.Add(input);

    /// <summary>Sets request <paramref name="index"/> aside as an invalid request, with the reason.</summary>
    public void Reject(int index, InvalidRequestException exception)
    {
        _rejected ??= new InferenceResult?[_batchCount];
        _rejected[index] = InferenceResult.Error(InferenceErrorKind.InvalidRequest, exception.Message);
    }

    /// <summary>
    /// Sets aside, as invalid requests, the accepted tensors the model declares it cannot take as
    /// one row of its batch (<see cref="TensorDescription.RowMismatch"/>): a tensor a client sent
    /// in the wrong shape fails alone instead of failing the batch it was put in. Only a model with
    /// one declared input is checked; any other is left to say what it lacks when it runs.
    /// </summary>
    public void RejectMisfits(HandlerContext context)
    {
        if (context.Model is not IModelSignature { Inputs: [var input] })
        {
            return;
        }
        for (int i = 0, accepted = 0; i < _batchCount && accepted < _inputs.Count; i++)
        {
            if (_rejected?[i] is not null)
            {
                continue;
            }
            if (_inputs[accepted] is Tensor tensor && input.RowMismatch(tensor) is { } why)
            {
                _inputs.RemoveAt(accepted);
                Reject(i, new InvalidRequestException($"Model '{context.ModelName}' {why}."));
                continue;
            }
            accepted++;
        }
    }

    /// <summary>Only the rejections, for a batch in which nothing was accepted.</summary>
    public IReadOnlyList<InferenceResult> Rejections() => Complete([]);

    /// <summary>Merges the accepted requests' results (in order) with the rejections.</summary>
    public IReadOnlyList<InferenceResult> Complete(IReadOnlyList<InferenceResult> acceptedResults)
    {
        if (_rejected is null)
        {
            return acceptedResults;
        }
        var results = new InferenceResult[_batchCount];
        var next = 0;
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = _rejected[i] ?? acceptedResults[next++];
        }
        return results;
    }
}
