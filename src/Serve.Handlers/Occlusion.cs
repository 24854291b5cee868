using System;
using System.Buffers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// Occlusion attribution (Zeiler and Fergus): how much the probability of the predicted class
/// falls when one square patch of the input is replaced by the baseline. Any backend runs it: it
/// only runs the model on occluded copies of the input, a few patches' copies per batch.
/// </summary>
public static class Occlusion
{
    /// <summary>Copies run per model call: bounds the batch at ~17 MB for 3 x 224 x 224 inputs.</summary>
    private const int CopiesPerRun = 28;

    /// <summary>
    /// <c>{"target": label, "probability": p, "patch": n, "attributions": [[...]]}</c>: row-major, one
    /// value per patch, p minus the target's probability with that patch set to 0 (in normalized
    /// input space: the dataset's mean colour). Positive: the patch supported the prediction.
    /// </summary>
    public static async ValueTask<InferenceResult> ExplainAsync(
        IModel<Tensor<float>, Tensor<float>> model, Tensor<float> image, int patch, LabelMap? labels, CancellationToken cancellationToken)
    {
        var (channels, height, width) = ((int)image.Shape[0], (int)image.Shape[1], (int)image.Shape[2]);
        var input = image.Memory.ToArray();
        float[] original;
        using (var logits = await model.RunAsync(new Tensor<float>(input, 1, channels, height, width), cancellationToken).ConfigureAwait(false))
        {
            original = Classification.Softmax(logits.Row(0));
        }
        var target = Classification.TopK(original, 1)[0];
        var (rows, columns) = ((height + patch - 1) / patch, (width + patch - 1) / patch);
        var attributions = new float[rows * columns];
        for (var first = 0; first < attributions.Length; first += CopiesPerRun)
        {
            var count = Math.Min(CopiesPerRun, attributions.Length - first);
            var batch = new float[count * input.Length];
            for (var i = 0; i < count; i++)
            {
                var copy = batch.AsSpan(i * input.Length, input.Length);
                input.CopyTo(copy);
                var (row, column) = Math.DivRem(first + i, columns);
                for (var c = 0; c < channels; c++)
                {
                    for (var y = row * patch; y < Math.Min((row + 1) * patch, height); y++)
                    {
                        copy.Slice((c * height + y) * width + column * patch, Math.Min(patch, width - column * patch)).Clear();
                    }
                }
            }
            using var logits = await model.RunAsync(new Tensor<float>(batch, count, channels, height, width), cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                attributions[first + i] = original[target] - Classification.Softmax(logits.Row(i))[target];
            }
        }

        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("target", labels is null ? target.ToString(System.Globalization.CultureInfo.InvariantCulture) : labels[target]);
            writer.WriteNumber("probability", (double)original[target]);
            writer.WriteNumber("patch", patch);
            writer.WriteStartArray("attributions");
            for (var row = 0; row < rows; row++)
            {
                writer.WriteStartArray();
                for (var column = 0; column < columns; column++)
                {
                    writer.WriteNumberValue((double)attributions[row * columns + column]);
                }
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return InferenceResult.Json(buffer.WrittenMemory);
    }
}
