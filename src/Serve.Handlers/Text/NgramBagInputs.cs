using System;
using System.Collections.Generic;
using System.IO;
using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>
/// TorchServe's text_classifier and its text_classification example: <see cref="TorchServeText"/>'s
/// cleanup and basic_english, n-grams (<c>handler: {ngrams: n}</c>, 2 by default as TorchServe's
/// class attribute), each looked up in the vocabulary (<c>source_vocab.txt</c>, with <c>&lt;unk&gt;</c>
/// for a token it lacks; or TorchServe's <c>source_vocab.pt</c>, with its default index, as torchtext), and a model that takes the ids of every text end to end and each text's offset
/// (an <c>nn.EmbeddingBag</c>'s <c>forward(text, offsets)</c>): its first input the ids, its second
/// the offsets. There is no maximum length: the bag averages any number of tokens.
/// </summary>
internal sealed class NgramBagInputs : TextModelInputs
{
    public const string Unknown = "<unk>";

    private readonly Dictionary<string, long> _vocabulary;
    private readonly long? _unknown;
    private readonly int _ngrams;
    private readonly TensorDescription _text;
    private readonly TensorDescription _offsets;

    private NgramBagInputs(Dictionary<string, long> vocabulary, long? unknown, int ngrams, TensorDescription text, TensorDescription offsets)
    {
        _vocabulary = vocabulary;
        _unknown = unknown;
        _ngrams = ngrams;
        _text = text;
        _offsets = offsets;
    }

    /// <summary><c>source_vocab.txt</c>: a token per line, unknown tokens to <c>&lt;unk&gt;</c>'s line where it has one.</summary>
    public static TorchTextVocabulary ReadLines(string path)
    {
        var tokens = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            tokens.Add(line.TrimEnd('\r'));
        }
        var unknown = tokens.IndexOf(Unknown);
        return new TorchTextVocabulary(tokens, unknown >= 0 ? unknown : null);
    }

    public static NgramBagInputs Load(HandlerContext context, string source, TorchTextVocabulary vocabulary, IReadOnlyList<TensorDescription> inputs)
    {
        if (inputs.Count != 2)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}' takes {inputs.Count} inputs ({string.Join(", ", Names(inputs))}); with {source}, text_classifier runs TorchServe's EmbeddingBag model, forward(text, offsets): two 1-D integer inputs.");
        }
        RequireIntegers(context, inputs[0], rank: 1);
        RequireIntegers(context, inputs[1], rank: 1);
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var id = 0; id < vocabulary.Tokens.Count; id++)
        {
            ids.TryAdd(vocabulary.Tokens[id], id);
        }
        if (ids.Count == 0)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {source} holds no tokens.");
        }
        if (vocabulary.DefaultIndex is { } index && (index < 0 || index >= vocabulary.Tokens.Count))
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {source}'s default index {index} is outside its {vocabulary.Tokens.Count} tokens.");
        }
        return new NgramBagInputs(ids, vocabulary.DefaultIndex, HandlerSettings.PositiveInt(context, "ngrams", 2), inputs[0], inputs[1]);
    }

    public override TextTokens Tokenize(string text)
    {
        var tokens = TorchServeText.Tokens(text);
        if (tokens.Length == 0)
        {
            throw new InvalidRequestException(
                "The text has no words left to classify after TorchServe's cleanup (HTML tags, punctuation and characters outside ASCII are removed).");
        }
        var ngrams = BasicEnglish.Ngrams(tokens, _ngrams);
        var ids = new long[ngrams.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = _vocabulary.TryGetValue(ngrams[i], out var id) ? id
                : _unknown ?? throw new InvalidRequestException($"The token '{ngrams[i]}' is not in the model's vocabulary, which has no {Unknown} or default index for unknown tokens.");
        }
        return new TextTokens(ids, Truncated: false);
    }

    public override Dictionary<string, Tensor> Batch(IReadOnlyList<TextTokens> texts)
    {
        var total = 0;
        var offsets = new long[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            offsets[i] = total;
            total += texts[i].Ids.Length;
        }
        var ids = new long[total];
        for (var i = 0; i < texts.Count; i++)
        {
            texts[i].Ids.CopyTo(ids, offsets[i]);
        }
        return new Dictionary<string, Tensor>
        {
            [_text.Name] = IntegerTensor(_text, ids, total),
            [_offsets.Name] = IntegerTensor(_offsets, offsets, offsets.Length),
        };
    }

    private static IEnumerable<string> Names(IReadOnlyList<TensorDescription> inputs)
    {
        foreach (var input in inputs)
        {
            yield return input.Name;
        }
    }
}
