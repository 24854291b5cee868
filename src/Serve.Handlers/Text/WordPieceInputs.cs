using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Tokenizers;
using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>
/// BERT-style models: <c>[CLS] WordPiece(text) [SEP]</c> with Microsoft.ML.Tokenizers' BertTokenizer
/// over the archive's <c>vocab.txt</c> (BERT's basic tokenization: control characters dropped, CJK
/// characters split, lower case and accents stripped unless <c>handler: {do_lower_case: false}</c>,
/// punctuation split; text that looks like a special token is ordinary text). Fed by input name:
/// <c>input_ids</c>, and <c>attention_mask</c> and <c>token_type_ids</c> where the model takes them.
/// At most <c>max_length</c> tokens including [CLS] and [SEP] (<c>handler: {max_length: n}</c>;
/// default: the model's fixed sequence length, else 512): longer text keeps its first
/// <c>max_length - 2</c> WordPiece tokens and the rest is not read. A batch is padded with [PAD]
/// to its longest text, or to the model's fixed length.
/// </summary>
public sealed class WordPieceInputs : TextModelInputs
{
    public const int DefaultMaxLength = 512;

    private readonly BertTokenizer _tokenizer;
    private readonly int _maxLength;
    private readonly int? _fixedLength;
    private readonly TensorDescription _inputIds;
    private readonly TensorDescription? _attentionMask;
    private readonly TensorDescription? _tokenTypeIds;

    private WordPieceInputs(BertTokenizer tokenizer, int maxLength, int? fixedLength, TensorDescription inputIds, TensorDescription? attentionMask, TensorDescription? tokenTypeIds)
    {
        _tokenizer = tokenizer;
        _maxLength = maxLength;
        _fixedLength = fixedLength;
        _inputIds = inputIds;
        _attentionMask = attentionMask;
        _tokenTypeIds = tokenTypeIds;
    }

    /// <summary>The most tokens one text becomes, [CLS] and [SEP] included.</summary>
    public int MaxLength => _maxLength;

    public static WordPieceInputs Load(HandlerContext context, string vocabularyPath, IReadOnlyList<TensorDescription> inputs)
    {
        var byName = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var unknown = inputs.Select(i => i.Name).Where(n => n is not ("input_ids" or "attention_mask" or "token_type_ids")).ToArray();
        if (!byName.TryGetValue("input_ids", out var inputIds) || unknown.Length > 0)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}' takes inputs {string.Join(", ", inputs.Select(i => i.Name))}; with {WordPieceVocabulary}, text_classifier gives a BERT-style model " +
                "input_ids and, where it takes them, attention_mask and token_type_ids" + (unknown.Length > 0 ? $", nothing named {string.Join(", ", unknown)}." : "."));
        }
        foreach (var input in inputs)
        {
            RequireIntegers(context, input, rank: 2);
            if (input.Shape[1] != inputIds.Shape[1])
            {
                throw new ModelLoadException($"Model '{context.ModelName}': input '{input.Name}' has sequence length {input.Shape[1]} but input_ids has {inputIds.Shape[1]}.");
            }
        }
        int? fixedLength = inputIds.Shape[1] > 0 ? checked((int)inputIds.Shape[1]) : null;
        var maxLength = HandlerSettings.PositiveInt(context, "max_length", fixedLength ?? DefaultMaxLength);
        if (maxLength < 3 || maxLength > fixedLength)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': handler.max_length is {maxLength}; it must be at least 3 ([CLS], a token, [SEP])" +
                (fixedLength is { } length ? $" and at most the model's sequence length, {length}." : "."));
        }
        var lowerCase = HandlerFlags.Bool(context, "do_lower_case", defaultValue: true);
        BertTokenizer tokenizer;
        try
        {
            tokenizer = BertTokenizer.Create(vocabularyPath, new BertOptions
            {
                LowerCaseBeforeTokenization = lowerCase,
                RemoveNonSpacingMarks = lowerCase, // BERT strips accents in uncased models only
                SplitOnSpecialTokens = false,      // "[SEP]" in a request is text, never a separator
                IndividuallyTokenizeCjk = true,
                ApplyBasicTokenization = true,
            });
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {WordPieceVocabulary} is not a WordPiece vocabulary: {e.Message}", e);
        }
        return new WordPieceInputs(tokenizer, maxLength, fixedLength, inputIds,
            byName.GetValueOrDefault("attention_mask"), byName.GetValueOrDefault("token_type_ids"));
    }

    public override TextTokens Tokenize(string text)
    {
        var pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
        if (pieces.Count == 0)
        {
            throw new InvalidRequestException("The text has no tokens to classify: it holds only control or unassigned characters.");
        }
        var kept = Math.Min(pieces.Count, _maxLength - 2);
        var ids = new long[kept + 2];
        ids[0] = _tokenizer.ClassificationTokenId;
        for (var i = 0; i < kept; i++)
        {
            ids[i + 1] = pieces[i];
        }
        ids[^1] = _tokenizer.SeparatorTokenId;
        return new TextTokens(ids, Truncated: kept < pieces.Count);
    }

    public override Dictionary<string, Tensor> Batch(IReadOnlyList<TextTokens> texts)
    {
        var length = _fixedLength ?? texts.Max(t => t.Ids.Length);
        var ids = new long[texts.Count * length];
        var mask = new long[ids.Length];
        Array.Fill(ids, _tokenizer.PaddingTokenId);
        for (var i = 0; i < texts.Count; i++)
        {
            texts[i].Ids.CopyTo(ids, i * length);
            mask.AsSpan(i * length, texts[i].Ids.Length).Fill(1);
        }
        var inputs = new Dictionary<string, Tensor> { [_inputIds.Name] = IntegerTensor(_inputIds, ids, texts.Count, length) };
        if (_attentionMask is { } attentionMask)
        {
            inputs[attentionMask.Name] = IntegerTensor(attentionMask, mask, texts.Count, length);
        }
        if (_tokenTypeIds is { } tokenTypeIds)
        {
            inputs[tokenTypeIds.Name] = IntegerTensor(tokenTypeIds, new long[ids.Length], texts.Count, length); // one segment
        }
        return inputs;
    }
}
