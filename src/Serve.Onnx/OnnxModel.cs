using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve.Runtime;

namespace Serve.Onnx;

/// <summary>
/// An ONNX model with one float input and one float output, run by ONNX Runtime.
/// It takes a whole batch tensor, or a list of per-request tensors that it stacks into one
/// (what a per-request preprocess gives), and returns the first output.
/// </summary>
public sealed class OnnxModel :
    IModel<DenseTensor<float>, DenseTensor<float>>,
    IModel<IReadOnlyList<DenseTensor<float>>, DenseTensor<float>>
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly int[] _inputShape;
    private readonly string _outputName;
    private readonly RunOptions _runOptions = new();

    public OnnxModel(InferenceSession session)
    {
        _session = session;
        var input = session.InputMetadata.Single(); // Checked by the loader.
        _inputName = input.Key;
        _inputShape = input.Value.Dimensions;
        _outputName = session.OutputMetadata.Keys.First();
    }

    public string Backend => OnnxModelLoader.BackendName;

    /// <summary>The session, for handlers that run it themselves.</summary>
    public InferenceSession Session => _session;

    /// <summary>The input's shape as the model declares it; -1 marks a dimension of any size.</summary>
    public IReadOnlyList<int> InputShape => _inputShape;

    public ValueTask<DenseTensor<float>> RunAsync(DenseTensor<float> input, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        CheckShape(input.Dimensions);
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.Buffer, ToLongs(input.Dimensions));
        return ValueTask.FromResult(Run(value));
    }

    public ValueTask<DenseTensor<float>> RunAsync(IReadOnlyList<DenseTensor<float>> inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (inputs.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(inputs));
        }

        // Stack per-request tensors along a new leading batch dimension.
        var itemShape = inputs[0].Dimensions.ToArray();
        var itemLength = (int)inputs[0].Length;
        var shape = new int[itemShape.Length + 1];
        shape[0] = inputs.Count;
        itemShape.CopyTo(shape, 1);
        CheckShape(shape);

        var batch = new float[inputs.Count * itemLength];
        for (var i = 0; i < inputs.Count; i++)
        {
            if (!inputs[i].Dimensions.SequenceEqual(itemShape))
            {
                throw new ArgumentException(
                    $"Request {i}'s tensor has shape {Format(inputs[i].Dimensions)}, but request 0's has {Format(itemShape)}; a batch needs one shape.");
            }
            inputs[i].Buffer.Span.CopyTo(batch.AsSpan(i * itemLength, itemLength));
        }
        using var value = OrtValue.CreateTensorValueFromMemory(batch, ToLongs(shape));
        return ValueTask.FromResult(Run(value));
    }

    private DenseTensor<float> Run(OrtValue input)
    {
        using var outputs = _session.Run(_runOptions, [_inputName], [input], [_outputName]);
        var output = outputs[0];
        var shape = output.GetTensorTypeAndShape().Shape;
        return new DenseTensor<float>(output.GetTensorDataAsSpan<float>().ToArray(), shape.Select(d => checked((int)d)).ToArray());
    }

    private void CheckShape(ReadOnlySpan<int> shape)
    {
        var fits = shape.Length == _inputShape.Length;
        for (var i = 0; fits && i < shape.Length; i++)
        {
            fits = _inputShape[i] < 0 || _inputShape[i] == shape[i];
        }
        if (!fits)
        {
            throw new ArgumentException(
                $"Model input '{_inputName}' takes shape {Format(_inputShape)} (-1: any size), but got {Format(shape)}.");
        }
    }

    private static long[] ToLongs(ReadOnlySpan<int> shape)
    {
        var longs = new long[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            longs[i] = shape[i];
        }
        return longs;
    }

    private static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
