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
    /// Reads a detector's three outputs, told apart by type and shape since torchvision's models
    /// order them differently (Faster R-CNN's dict: boxes, labels, scores; SSD's: boxes, scores,
    /// labels): boxes (N x 4, float), labels (N, int64 or int32) and scores (N, float).
    /// </summary>
    /// <exception cref="InvalidOperationException">The outputs are not these three; the message says what the model returned.</exception>
    public static Detections FromModelOutputs(IReadOnlyList<Tensor> outputs, string modelName)
    {
        Tensor<float>? boxes = null, scores = null;
        Tensor? labels = null;
        var understood = outputs.Count == 3;
        foreach (var output in outputs)
        {
            switch (output)
            {
                case Tensor<float> { Shape: [_, 4] } b when boxes is null:
                    boxes = b;
                    break;
                case Tensor<float> { Shape: [_] } s when scores is null:
                    scores = s;
                    break;
                case Tensor<long> or Tensor<int> when output.Shape.Count == 1 && labels is null:
                    labels = output;
                    break;
                default:
                    understood = false;
                    break;
            }
        }
        if (understood && boxes is not null && scores is not null && labels is not null
            && scores.Shape[0] == boxes.Shape[0] && labels.Shape[0] == boxes.Shape[0])
        {
            var indices = labels is Tensor<long> longs ? longs.Span.ToArray() : Array.ConvertAll(((Tensor<int>)labels).Span.ToArray(), i => (long)i);
            return new Detections(boxes.Span.ToArray(), indices, scores.Span.ToArray());
        }
        throw new InvalidOperationException(
            $"object_detector needs model '{modelName}' to return three outputs, in any order: boxes (N x 4, float), labels (N, int64) and scores (N, float), " +
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
