using System;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve;
using Serve.Runtime;

namespace Samples.Digits;

/// <summary>
/// Classifies an image of a handwritten digit. No [Initialize] and no [Inference]: the defaults
/// load model/digits.onnx (named by the manifest) and run it on the stacked preprocess outputs.
/// </summary>
[Handler("digits")]
public partial class DigitsHandler
{
    /// <summary>
    /// One request's image as a 1x8x8 tensor of intensities in [0, 1]; or those 64 intensities
    /// themselves, sent as an FP32 tensor (e.g. an Open Inference Protocol JSON tensor).
    /// </summary>
    [Preprocess]
    public static DenseTensor<float> Preprocess(InferenceRequest request) =>
        TensorBody.TryGetShape(request, out _, out _) ? DigitImage.FromIntensities(TensorBody.ReadSingles(request)) : DigitImage.ToTensor(request.Body.Span);

    /// <summary>Softmax over the ten logits of each image; the most likely digit wins.</summary>
    [Postprocess]
    public static DigitPrediction[] Postprocess(DenseTensor<float> logits)
    {
        var count = logits.Dimensions[0];
        var classes = logits.Dimensions[1];
        var scores = logits.Buffer.Span;
        var predictions = new DigitPrediction[count];
        for (var i = 0; i < count; i++)
        {
            var row = scores.Slice(i * classes, classes);
            var best = 0;
            var max = row[0];
            for (var c = 1; c < classes; c++)
            {
                if (row[c] > max)
                {
                    max = row[c];
                    best = c;
                }
            }
            var sum = 0.0;
            foreach (var score in row)
            {
                sum += Math.Exp(score - max);
            }
            predictions[i] = new DigitPrediction(best, (float)(1.0 / sum));
        }
        return predictions;
    }
}

/// <summary>The response: <c>{"digit": 3, "probability": 0.998}</c>.</summary>
public sealed record DigitPrediction(int Digit, float Probability);
