using System;
using System.Buffers;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// TorchServe's <c>image_segmenter</c>: the classifier's input (Resize(256), CenterCrop(224),
/// ImageNet normalization), and per image an H x W x 2 list of <c>[class, probability]</c>: the
/// softmax over the classes of the model's <c>out</c> output (N x C x H x W), and its maximum per
/// pixel. The model must return <c>out</c> alone (torchvision's segmentation models return a dict
/// with "out" and "aux": export <c>model(x)["out"]</c>), or name it first among its outputs.
/// </summary>
[Handler("image_segmenter")]
public partial class ImageSegmenter
{
    [Preprocess]
    public virtual Tensor<float> Preprocess(InferenceRequest request) => ImageTransforms.ImageNetInput(request);

    [Postprocess]
    public virtual IReadOnlyList<InferenceResult> Postprocess(Tensor<float> output)
    {
        if (output.Shape.Count != 4)
        {
            throw new InvalidOperationException($"image_segmenter needs the model's 'out' as N x C x H x W, but the model returned {Tensor.FormatShape(output.Shape)}.");
        }
        var (classes, height, width) = ((int)output.Shape[1], (int)output.Shape[2], (int)output.Shape[3]);
        var results = new InferenceResult[output.Shape[0]];
        var classMap = new int[height * width];
        var probabilities = new float[height * width];
        for (var n = 0; n < results.Length; n++)
        {
            ArgMaxSoftmax(output.Row(n), classes, classMap, probabilities);
            results[n] = Write(classMap, probabilities, height, width);
        }
        return results;
    }

    /// <summary>
    /// Per pixel: the class of largest probability and that probability, which is
    /// 1 / sum(exp(logit - max logit)); computed plane by plane so the memory is read in order.
    /// As PyTorch's softmax over dim 1 (<c>_vec_softmax</c>): SLEEF's exp, the sum over the classes
    /// in class order, per pixel.
    /// </summary>
    public static void ArgMaxSoftmax(ReadOnlySpan<float> logits, int classes, Span<int> classMap, Span<float> probabilities)
    {
        var plane = classMap.Length;
        var max = probabilities; // holds the maximum logit until the end
        logits[..plane].CopyTo(max);
        classMap.Clear();
        for (var c = 1; c < classes; c++)
        {
            var values = logits.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                if (values[i] > max[i])
                {
                    max[i] = values[i];
                    classMap[i] = c;
                }
            }
        }
        var sums = ArrayPool<float>.Shared.Rent(plane);
        Array.Clear(sums, 0, plane);
        for (var c = 0; c < classes; c++)
        {
            var values = logits.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                sums[i] += PyTorchMath.Exp(values[i] - max[i]);
            }
        }
        for (var i = 0; i < plane; i++)
        {
            probabilities[i] = 1f / sums[i];
        }
        ArrayPool<float>.Shared.Return(sums);
    }

    private static readonly string[] ClassTexts = [.. Enumerable.Range(0, 256).Select(c => c + ".0")];

    private static string ClassText(int c) => c < ClassTexts.Length ? ClassTexts[c] : c + ".0";

    private static InferenceResult Write(ReadOnlySpan<int> classMap, ReadOnlySpan<float> probabilities, int height, int width)
    {
        var buffer = new ArrayBufferWriter<byte>(height * width * 24);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var y = 0; y < height; y++)
            {
                writer.WriteStartArray();
                for (var x = 0; x < width; x++)
                {
                    writer.WriteStartArray();
                    // TorchServe stacks the class index as a float tensor: Python writes 3.0, not 3.
                    writer.WriteRawValue(ClassText(classMap[y * width + x]), skipInputValidation: true);
                    writer.WriteNumberValue((double)probabilities[y * width + x]);
                    writer.WriteEndArray();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
        }
        return InferenceResult.Json(buffer.WrittenMemory);
    }
}
