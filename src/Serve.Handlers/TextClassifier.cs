using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Text;
using Serve.Runtime;
using Serve.Runtime.CompilerServices;

namespace Serve.Handlers;

/// <summary>
/// TorchServe's <c>text_classifier</c>: each request's text (UTF-8 body, a JSON string, or
/// <c>{"data": text}</c>) becomes token ids by the vocabulary the archive holds
/// (<see cref="TextModelInputs"/>: <c>vocab.txt</c> is BERT WordPiece, <c>source_vocab.txt</c> is
/// TorchServe's basic_english with n-grams), the model runs on the batch, and each text gets the
/// softmax over its logits as TorchServe's <c>map_class_to_label</c> gives it: every class, in
/// class order, <c>{"label": probability}</c>, labels from <c>index_to_name.json</c>.
/// Subclass it and override a stage to change one step.
/// </summary>
[Handler("text_classifier")]
public partial class TextClassifier
{
    private TextModelInputs? _inputs;

    /// <summary>How text becomes the model's inputs, chosen at initialize.</summary>
    public TextModelInputs TextInputs => _inputs ?? throw new InvalidOperationException("text_classifier is not initialized.");

    /// <summary>The default initialize (the model, the labels), then the tokenizer the archive's vocabulary names.</summary>
    [Initialize]
    public virtual async ValueTask Initialize(HandlerContext context, CancellationToken cancellationToken)
    {
        await DefaultStages.InitializeAsync(context, cancellationToken).ConfigureAwait(false);
        if (context.RunsPerRequestStagesOnly && context.Model is null)
        {
            // The instance that tokenizes each request as it arrives needs the model's input names;
            // the default initialize loads no model for it, and LoadModel gives it the workers' shared copy.
            context.Model = context.LoadModel();
        }
        _inputs = TextModelInputs.Load(context);
    }

    /// <summary>One request's text as token ids; empty text, invalid UTF-8 and text with nothing to classify are refused (400).</summary>
    [Preprocess]
    public virtual TextTokens Preprocess(InferenceRequest request) => TextInputs.Tokenize(TextRequest.Text(request));

    /// <summary>
    /// The batch as the model's named inputs, run; the logits: the only output (ONNX's one output,
    /// TorchScript's one tensor, "output"), else the one named "logits" (ONNX), else "output0", the first
    /// of the tuple a TorchScript model returns (as Hugging Face's traced models return (logits, ...)).
    /// </summary>
    [Inference]
    public virtual async ValueTask<Tensor<float>> Inference(IReadOnlyList<TextTokens> texts, HandlerContext context, CancellationToken cancellationToken)
    {
        var model = context.GetModel<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>();
        var inputs = TextInputs.Batch(texts);
        IReadOnlyDictionary<string, Tensor> outputs;
        try
        {
            outputs = await model.RunAsync(inputs, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var input in inputs.Values)
            {
                input.Dispose();
            }
        }
        Tensor? logits = outputs.Count == 1 ? FirstValue(outputs) : outputs.GetValueOrDefault("logits") ?? outputs.GetValueOrDefault("output0");
        foreach (var output in outputs.Values)
        {
            if (!ReferenceEquals(output, logits))
            {
                output.Dispose();
            }
        }
        return logits as Tensor<float> ?? throw new InvalidOperationException(logits is null
            ? $"text_classifier reads the model's logits, but it returns {outputs.Count} outputs ({string.Join(", ", outputs.Keys)}) and none is named 'logits' (ONNX) or 'output0' (the first of a TorchScript tuple)."
            : $"text_classifier reads float logits, but the model's output is {logits}.");
    }

    /// <summary>Softmax of each text's logits, every class as <c>{"label": probability}</c> in class order.</summary>
    [Postprocess]
    public virtual IReadOnlyList<InferenceResult> Postprocess(Tensor<float> logits, HandlerContext context)
    {
        using (logits)
        {
            if (logits.Shape.Count != 2)
            {
                throw new InvalidOperationException($"text_classifier needs the model's logits as batch x classes, but the model returned {Tensor.FormatShape(logits.Shape)}.");
            }
            var results = new InferenceResult[logits.Shape[0]];
            for (var i = 0; i < results.Length; i++)
            {
                results[i] = ClassProbabilities(Classification.Softmax(logits.Row(i)), context.Labels);
            }
            return results;
        }
    }

    /// <summary>TorchServe's <c>map_class_to_label</c> for one row: every class, in class order.</summary>
    public static InferenceResult ClassProbabilities(ReadOnlySpan<float> probabilities, LabelMap? labels) =>
        Classification.LabelledJson(probabilities, [.. Enumerable.Range(0, probabilities.Length)], labels);

    private static Tensor? FirstValue(IReadOnlyDictionary<string, Tensor> outputs)
    {
        foreach (var output in outputs.Values)
        {
            return output;
        }
        return null;
    }
}
