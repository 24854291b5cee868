using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>What the classifiers share: softmax and TorchServe's <c>{label: probability}</c> answer.</summary>
public static class Classification
{
    /// <summary>
    /// Softmax over the last dimension as PyTorch's CPU kernel computes it in float
    /// (aten/src/ATen/native/cpu/SoftMaxKernel.cpp, <c>_vec_softmax_lastdim</c>): shifted by the
    /// maximum, exp by SLEEF's <c>expf_u10</c> (<see cref="PyTorchMath.Exp"/>), the sum kept in eight
    /// lanes (one AVX2 vector) and the lanes added pairwise at the end (4+4, 2+2, 1+1), then each
    /// exp multiplied by the sum's reciprocal. A plain left-to-right float sum of 1,000 classes is
    /// off by about 3e-6; this gives PyTorch's bits (tested against torch 1.13's, SoftmaxTests).
    /// </summary>
    public static float[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var x in logits)
        {
            max = Math.Max(max, x);
        }
        var result = new float[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            result[i] = PyTorchMath.Exp(logits[i] - max);
        }
        var scale = 1f / PyTorchMath.VectorSum(result);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] *= scale;
        }
        return result;
    }

    /// <summary>The indices of the k largest values, largest first (ties: lower index first); k is capped at the class count.</summary>
    public static int[] TopK(ReadOnlySpan<float> values, int k)
    {
        var indices = new int[values.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            indices[i] = i;
        }
        var keys = values.ToArray();
        Array.Sort(indices, (a, b) => keys[b].CompareTo(keys[a]) is var order and not 0 ? order : a.CompareTo(b));
        return indices[..Math.Min(k, indices.Length)];
    }

    /// <summary>
    /// TorchServe's <c>map_class_to_label</c> for one row: <c>{"label": probability}</c> for the top
    /// k classes, most probable first. As in Python's dict, a label that repeats keeps its first
    /// position and its last probability.
    /// </summary>
    public static InferenceResult TopKJson(ReadOnlySpan<float> probabilities, int k, LabelMap? labels) =>
        LabelledJson(probabilities, TopK(probabilities, k), labels);

    /// <summary>
    /// TorchServe's <c>map_class_to_label</c> for one row, over the classes at <paramref name="indices"/>
    /// in that order: a Python dict, so a label that repeats keeps its first position and its last probability.
    /// </summary>
    public static InferenceResult LabelledJson(ReadOnlySpan<float> probabilities, IReadOnlyList<int> indices, LabelMap? labels)
    {
        var entries = new List<(string Label, float Probability)>(indices.Count);
        foreach (var index in indices)
        {
            var label = labels is null ? index.ToString(System.Globalization.CultureInfo.InvariantCulture) : labels[index];
            var existing = entries.FindIndex(e => e.Label == label);
            if (existing >= 0)
            {
                entries[existing] = (label, probabilities[index]);
            }
            else
            {
                entries.Add((label, probabilities[index]));
            }
        }
        var buffer = new ArrayBufferWriter<byte>(32 * entries.Count + 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (label, probability) in entries)
            {
                // The float's value as a double, as Python's float(tensor.item()) and tolist() print it.
                writer.WriteNumber(label, (double)probability);
            }
            writer.WriteEndObject();
        }
        return InferenceResult.Json(buffer.WrittenMemory);
    }
}
