using System.Collections.Generic;
using Serve;
using Serve.Handlers;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Benchmarks.ImageBench;

/// <summary>One class of an image's top five and its softmax probability.</summary>
public sealed record ClassScore(int Class, float Probability);

/// <summary>
/// An image classifier as a user writes one with the attributes: the image_classifier's work
/// (Resize 256, CenterCrop 224, normalize; softmax, top 5) from Serve.Handlers' public pieces.
/// Its preprocess takes one request, so the server runs it as each request arrives.
/// </summary>
[Handler("classifier")]
public partial class ClassifierHandler
{
    [Preprocess]
    public static Tensor<float> Preprocess(InferenceRequest request) => ImageTransforms.ImageNetInput(request);

    [Postprocess]
    public static ClassScore[][] Postprocess(Tensor<float> logits) => TopFive.Of(logits);
}

/// <summary>
/// The same classifier with its preprocess over the batch: it runs on the worker, one image after
/// another, instead of on every core as requests arrive.
/// </summary>
[Handler("classifier-batch")]
public partial class BatchClassifierHandler
{
    [Preprocess]
    public static Tensor<float>[] Preprocess(IReadOnlyList<InferenceRequest> batch)
    {
        var images = new Tensor<float>[batch.Count];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = ImageTransforms.ImageNetInput(batch[i]);
        }
        return images;
    }

    [Postprocess]
    public static ClassScore[][] Postprocess(Tensor<float> logits) => TopFive.Of(logits);
}

/// <summary>Does nothing a model would: what the framework costs per request (HTTP, queue, worker, JSON).</summary>
[Handler("echo")]
public partial class EchoHandler
{
    [Preprocess]
    public static int Preprocess(InferenceRequest request) => request.Body.Length;

    [Inference]
    public static EchoAnswer[] Run(IReadOnlyList<int> lengths)
    {
        var answers = new EchoAnswer[lengths.Count];
        for (var i = 0; i < answers.Length; i++)
        {
            answers[i] = new EchoAnswer(lengths[i]);
        }
        return answers;
    }
}

/// <summary>The echo handler's answer, also what the bare endpoint writes.</summary>
public sealed record EchoAnswer(int Length);

public static class TopFive
{
    public static ClassScore[][] Of(Tensor<float> logits)
    {
        var rows = new ClassScore[logits.Shape[0]][];
        for (var i = 0; i < rows.Length; i++)
        {
            var probabilities = Classification.Softmax(logits.Row(i));
            var top = Classification.TopK(probabilities, 5);
            rows[i] = new ClassScore[top.Length];
            for (var k = 0; k < top.Length; k++)
            {
                rows[i][k] = new ClassScore(top[k], probabilities[top[k]]);
            }
        }
        return rows;
    }
}
