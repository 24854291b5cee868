using System;
using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// One image's detections as torchvision's detectors return them: N boxes (x1, y1, x2, y2 in the
/// image's pixels), N class indices and N scores, in the model's order (by score, highest first).
/// Copied out of the model's output tensors, so they outlive them.
/// </summary>
public sealed class Detections
{
    public Detections(float[] boxes, long[] labels, float[] scores)
    {
        if (boxes.Length != labels.Length * 4 || scores.Length != labels.Length)
        {
            throw new ArgumentException($"{labels.Length} detections need {labels.Length * 4} box coordinates and {labels.Length} scores, not {boxes.Length} and {scores.Length}.");
        }
        Boxes = boxes;
        Labels = labels;
        Scores = scores;
    }

    /// <summary>Four coordinates per detection, row after row.</summary>
    public float[] Boxes { get; }

    public long[] Labels { get; }

    public float[] Scores { get; }

    public int Count => Labels.Length;

    /// <summary>Detection <paramref name="index"/>'s box: x1, y1, x2, y2.</summary>
    public ReadOnlySpan<float> Box(int index) => Boxes.AsSpan(index * 4, 4);

    /// <summary>
    /// Reads a detector's outputs: boxes (N x 4, float), labels (N, int64 or int32) and scores (N,
    /// float), the first three outputs in this order, as torchvision's ONNX export and a TorchScript
    /// wrapper returning <c>(boxes, labels, scores)</c> give them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The outputs are not of these types and shapes; the message says what the model returned.</exception>
    public static Detections FromModelOutputs(IReadOnlyList<Tensor> outputs, string modelName)
    {
        if (outputs.Count >= 3
            && outputs[0] is Tensor<float> boxes && boxes.Shape.Count == 2 && boxes.Shape[1] == 4
            && outputs[2] is Tensor<float> scores && scores.Shape.Count == 1 && scores.Shape[0] == boxes.Shape[0]
            && outputs[1] is { Shape.Count: 1 } labels && labels.Shape[0] == boxes.Shape[0]
            && labels is Tensor<long> or Tensor<int>)
        {
            var indices = labels is Tensor<long> longs ? longs.Span.ToArray() : Array.ConvertAll(((Tensor<int>)labels).Span.ToArray(), i => (long)i);
            return new Detections(boxes.Span.ToArray(), indices, scores.Span.ToArray());
        }
        throw new InvalidOperationException(
            $"object_detector needs model '{modelName}' to return boxes (N x 4, float), labels (N, int64) and scores (N, float), in this order, " +
            $"as torchvision's detectors do; it returned {Describe(outputs)}.");
    }

    private static string Describe(IReadOnlyList<Tensor> outputs)
    {
        var parts = new string[outputs.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = outputs[i].ToString();
        }
        return parts.Length == 0 ? "nothing" : string.Join(", ", parts);
    }
}
