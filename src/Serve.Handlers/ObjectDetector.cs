using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// TorchServe's <c>object_detector</c>: each image becomes <c>ToTensor()(image)</c> at its own
/// size (no resize, no normalization: torchvision's detectors do both inside the model), the
/// model detects on each image, and each image gets a list of
/// <c>{"label": [x1, y1, x2, y2], "score": s}</c> for the detections scoring at least the
/// threshold (<c>handler: {threshold: t}</c> in model-config.yaml, TorchServe's 0.5 by default),
/// in the model's order, boxes in the original image's pixels, labels from <c>index_to_name.json</c>.
/// <para>
/// The model takes one image (3 x H x W) and returns torchvision's boxes (N x 4), labels (N) and
/// scores (N), in that order: torchvision's ONNX export, or a TorchScript wrapper that returns the
/// tuple (see docs/builtins.md). Images run one at a time, so a batch of differently sized images
/// is answered image by image, where TorchServe's <c>torch.stack</c> fails the whole batch.
/// </para>
/// </summary>
[Handler("object_detector")]
public partial class ObjectDetector
{
    /// <summary>TorchServe's <c>ObjectDetector.threshold</c>.</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>
    /// The most pixels an image may have by default (16 megapixels): the model takes the image at
    /// full size as float32, 12 bytes a pixel (192 MB here), where the classifier's input is 224 x 224.
    /// </summary>
    public const long DefaultMaxPixels = 16L * 1024 * 1024;

    /// <summary>One image as <c>ToTensor()</c> gives it: 3 x H x W, values byte / 255; or a tensor sent instead of an image, as it is (<see cref="TensorInput"/>).</summary>
    [Preprocess]
    public virtual Tensor<float> Preprocess(InferenceRequest request, HandlerContext context)
    {
        if (TensorInput.TryRead(request, out var tensor))
        {
            return tensor;
        }
        using var image = ImageDecoder.Decode(ImageRequest.ImageBytes(request).Span, pooled: true, MaxPixels(context), " by this object detector (handler.max_pixels in model-config.yaml)");
        return ImageTransforms.ToTensor(image);
    }

    /// <summary><c>handler: {max_pixels: n}</c> in model-config.yaml, from 64 up to the decoder's 64 megapixels; <see cref="DefaultMaxPixels"/> without it.</summary>
    public static long MaxPixels(HandlerContext context)
    {
        if (!context.ModelConfig.Handler.TryGetValue("max_pixels", out var text))
        {
            return DefaultMaxPixels;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pixels) || pixels < 1 || pixels > ImageDecoder.MaxPixels)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': handler.max_pixels in model-config.yaml is '{text}'; it must be a whole number from 1 to {ImageDecoder.MaxPixels}.");
        }
        return pixels;
    }

    /// <summary>Runs the model on each image by itself: torchvision's detectors take images of any size, not a stacked batch.</summary>
    [Inference]
    public virtual async Task<IReadOnlyList<Detections>> Detect(IReadOnlyList<Tensor<float>> images, HandlerContext context, CancellationToken cancellationToken)
    {
        var model = context.GetModel<Tensor<float>, IReadOnlyList<Tensor>>();
        var results = new Detections[images.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var outputs = await model.RunAsync(images[i], cancellationToken).ConfigureAwait(false);
            try
            {
                results[i] = Detections.FromModelOutputs(outputs, context.ModelName);
            }
            finally
            {
                foreach (var output in outputs)
                {
                    output.Dispose();
                }
            }
        }
        return results;
    }

    /// <summary>TorchServe's postprocess: per image, the detections scoring at least the threshold.</summary>
    [Postprocess]
    public virtual IReadOnlyList<InferenceResult> Postprocess(IReadOnlyList<Detections> detections, HandlerContext context)
    {
        // PyTorch compares a float32 tensor with a Python float in float32: 0.7 is 0.699999988.
        var threshold = (float)Threshold(context);
        var results = new InferenceResult[detections.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = Write(detections[i], threshold, context.Labels);
        }
        return results;
    }

    /// <summary><c>handler: {threshold: t}</c> in model-config.yaml, a number from 0 to 1; TorchServe's 0.5 without it.</summary>
    public static double Threshold(HandlerContext context)
    {
        if (!context.ModelConfig.Handler.TryGetValue("threshold", out var text))
        {
            return DefaultThreshold;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold) || !(threshold is >= 0 and <= 1))
        {
            throw new ModelLoadException($"Model '{context.ModelName}': handler.threshold in model-config.yaml is '{text}'; it must be a number from 0 to 1.");
        }
        return threshold;
    }

    private static InferenceResult Write(Detections detections, float threshold, LabelMap? labels)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < detections.Count; i++)
            {
                var score = detections.Scores[i];
                // TorchServe keeps row["scores"] >= threshold.
                if (!(score >= threshold))
                {
                    continue;
                }
                var label = Label(detections.Labels[i], labels);
                writer.WriteStartObject();
                // {label: box} then ["score"] = s, as a Python dict: a class named "score" keeps only the score.
                if (label != "score")
                {
                    writer.WriteStartArray(label);
                    foreach (var coordinate in detections.Box(i))
                    {
                        // float32 as a double, as Python's tolist() writes it.
                        writer.WriteNumberValue((double)coordinate);
                    }
                    writer.WriteEndArray();
                }
                writer.WriteNumber("score", (double)score);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return InferenceResult.Json(buffer.WrittenMemory);
    }

    private static string Label(long index, LabelMap? labels) =>
        labels is not null && index is >= int.MinValue and <= int.MaxValue ? labels[(int)index] : index.ToString(CultureInfo.InvariantCulture);
}
