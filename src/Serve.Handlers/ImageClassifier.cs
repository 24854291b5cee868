using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// TorchServe's <c>image_classifier</c>: each image is decoded and turned into
/// <c>Normalize(imagenet)(ToTensor(CenterCrop(224)(Resize(256)(image))))</c>, the model runs on
/// the batch, and each image gets its top-k classes (<c>handler: {topk: k}</c> in
/// model-config.yaml, 5 by default) as <c>{"label": probability}</c>, most probable first, with
/// labels from <c>index_to_name.json</c> (the class index where it has none).
/// Subclass it and override a stage to change one step.
/// </summary>
[Handler("image_classifier")]
public partial class ImageClassifier
{
    public const int DefaultTopK = 5;

    /// <summary>One image as the model's 3 x 224 x 224 input.</summary>
    [Preprocess]
    public virtual Tensor<float> Preprocess(InferenceRequest request) => ImageTransforms.ImageNetInput(request);

    /// <summary>Softmax over each row of the logits, then the top k as label to probability.</summary>
    [Postprocess]
    public virtual IReadOnlyList<InferenceResult> Postprocess(Tensor<float> logits, HandlerContext context)
    {
        var topK = HandlerSettings.PositiveInt(context, "topk", DefaultTopK);
        var results = new InferenceResult[logits.Shape[0]];
        for (var i = 0; i < results.Length; i++)
        {
            var probabilities = Classification.Softmax(logits.Row(i));
            results[i] = Classification.TopKJson(probabilities, topK, context.Labels);
        }
        return results;
    }

    /// <summary>
    /// <c>/explanations</c>: occlusion attribution of each image's top class, one value per
    /// patch (<c>handler: {occlusion_patch: n}</c>, 16 pixels by default); see <see cref="Occlusion"/>.
    /// TorchServe's VisionHandler answers with Captum's integrated gradients, which needs the
    /// model's gradients; occlusion needs only its outputs, so it runs on every backend.
    /// </summary>
    [Explain]
    public virtual async Task<IReadOnlyList<InferenceResult>> Explain(IReadOnlyList<Tensor<float>> images, HandlerContext context, CancellationToken cancellationToken)
    {
        var patch = HandlerSettings.PositiveInt(context, "occlusion_patch", 16);
        var model = context.GetModel<Tensor<float>, Tensor<float>>();
        var results = new InferenceResult[images.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await Occlusion.ExplainAsync(model, images[i], patch, context.Labels, cancellationToken).ConfigureAwait(false);
        }
        return results;
    }
}
