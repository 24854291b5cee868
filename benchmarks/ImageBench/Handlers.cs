using System;
using System.Collections.Generic;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve;
using Serve.Runtime;

namespace Benchmarks.ImageBench;

/// <summary>The top class of one image and its softmax probability.</summary>
public sealed record TopClass(int Class, float Probability);

/// <summary>Preprocess per request: the server decodes images as they arrive, on every core.</summary>
[Handler("mobilenet")]
public partial class MobileNetHandler
{
    [Preprocess]
    public static DenseTensor<float> Preprocess(InferenceRequest request) => ImageInput.ToTensor(request.Body.Span);

    [Postprocess]
    public static TopClass[] Postprocess(DenseTensor<float> logits) => Top.Classes(logits);
}

/// <summary>The same work with a preprocess over the batch: it runs on the worker, one image after another.</summary>
[Handler("mobilenet-batch")]
public partial class MobileNetBatchHandler
{
    [Preprocess]
    public static DenseTensor<float>[] Preprocess(IReadOnlyList<InferenceRequest> batch)
    {
        var tensors = new DenseTensor<float>[batch.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = ImageInput.ToTensor(batch[i].Body.Span);
        }
        return tensors;
    }

    [Postprocess]
    public static TopClass[] Postprocess(DenseTensor<float> logits) => Top.Classes(logits);
}

public static class Top
{
    public static TopClass[] Classes(DenseTensor<float> logits)
    {
        var (count, classes) = (logits.Dimensions[0], logits.Dimensions[1]);
        var scores = logits.Buffer.Span;
        var results = new TopClass[count];
        for (var i = 0; i < count; i++)
        {
            var row = scores.Slice(i * classes, classes);
            var best = 0;
            for (var c = 1; c < classes; c++)
            {
                best = row[c] > row[best] ? c : best;
            }
            var sum = 0.0;
            foreach (var score in row)
            {
                sum += Math.Exp(score - row[best]);
            }
            results[i] = new TopClass(best, (float)(1.0 / sum));
        }
        return results;
    }
}
