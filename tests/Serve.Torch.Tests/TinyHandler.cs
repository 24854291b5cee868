using System.Collections.Generic;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>
/// A handler with no [Initialize] and no [Inference], served over HTTP: the default initialize
/// loads the model directory's TorchScript file with TorchSharp, the default inference runs it on
/// the stacked per-request tensors, and postprocess names the top class from index_to_name.json.
/// </summary>
[Handler("tiny")]
public partial class TinyHandler
{
    /// <summary>A request is a JSON array of 64 numbers: one 1x8x8 image.</summary>
    [Preprocess]
    public static Tensor<float> Preprocess(InferenceRequest request)
    {
        float[]? pixels;
        try
        {
            pixels = JsonSerializer.Deserialize(request.Body.Span, TinyJson.Default.SingleArray);
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException($"The body must be a JSON array of 64 numbers: {e.Message}");
        }
        return pixels is { Length: 64 }
            ? new Tensor<float>(pixels, 1, 8, 8)
            : throw new InvalidRequestException($"The body must be a JSON array of 64 numbers, not {pixels?.Length ?? 0}.");
    }

    [Postprocess]
    public static TinyPrediction[] Postprocess(Tensor<float> logits, HandlerContext context)
    {
        using (logits)
        {
            var predictions = new TinyPrediction[logits.Shape[0]];
            for (var i = 0; i < predictions.Length; i++)
            {
                var scores = logits.Row(i).ToArray();
                var best = 0;
                for (var c = 1; c < scores.Length; c++)
                {
                    if (scores[c] > scores[best]) best = c;
                }
                predictions[i] = new TinyPrediction(context.Labels?[best] ?? best.ToString(), scores);
            }
            return predictions;
        }
    }
}

/// <summary><c>{"label": "circle", "logits": [..3 numbers..]}</c></summary>
public sealed record TinyPrediction(string Label, float[] Logits);

[System.Text.Json.Serialization.JsonSerializable(typeof(float[]))]
internal sealed partial class TinyJson : System.Text.Json.Serialization.JsonSerializerContext;
