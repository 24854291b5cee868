using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Tokenizers;
using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>
/// BERT-style models: <c>[CLS] WordPiece(text) [SEP]</c>: BERT's basic tokenization
/// (<see cref="BertBasicTokenizer"/>: lower case and accents stripped unless
/// <c>handler: {do_lower_case: false}</c>), then Microsoft.ML.Tokenizers' WordPiece over the
/// archive's <c>vocab.txt</c> (greedy longest match, "##" continuations, [UNK] for a word it cannot
/// spell or of over 100 characters). Text that looks like a special token ("[SEP]") is ordinary
/// text. Fed by input name: <c>input_ids</c>, and <c>attention_mask</c> and <c>token_type_ids</c>
/// where the model takes them. At most <c>max_length</c> tokens including [CLS] and [SEP]
/// (<c>handler: {max_length: n}</c>; default: the model's fixed sequence length, else 512): longer
/// text keeps its first <c>max_length - 2</c> WordPiece tokens (the rest is not read, as
/// Hugging Face's <c>truncation=True</c>). A batch is padded with [PAD] to its longest text, or to
/// the model's fixed length.
/// </summary>
internal sealed class WordPieceInputs : TextModelInputs
{
    public const int DefaultMaxLength = 512;

    /// <summary>BERT's limit: a longer word is [UNK]. Counted in code points, as Python counts.</summary>
    public const int MaxCharactersPerWord = 100;

    private readonly WordPieceTokenizer _wordPiece;
    private readonly SpecialTokens _special;
    private readonly bool _lowerCase;
    private readonly int _maxLength;
    private readonly int? _fixedLength;
    private readonly TensorDescription _inputIds;
    private readonly TensorDescription? _attentionMask;
    private readonly TensorDescription? _tokenTypeIds;

    private WordPieceInputs(WordPieceTokenizer wordPiece, SpecialTokens special, bool lowerCase, int maxLength, int? fixedLength,
        TensorDescription inputIds, TensorDescription? attentionMask, TensorDescription? tokenTypeIds)
    {
        _wordPiece = wordPiece;
        _special = special;
        _lowerCase = lowerCase;
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
        RequireIntegers(context, inputIds, rank: 2);
        foreach (var input in inputs)
        {
            RequireIntegers(context, input, rank: 2);
            if (DeclaredSize(input, 1) != DeclaredSize(inputIds, 1))
            {
                throw new ModelLoadException($"Model '{context.ModelName}': input '{input.Name}' has sequence length {DeclaredSize(input, 1)} but input_ids has {DeclaredSize(inputIds, 1)}.");
            }
        }
        int? fixedLength = DeclaredSize(inputIds, 1) > 0 ? checked((int)DeclaredSize(inputIds, 1)) : null;
        var maxLength = HandlerSettings.PositiveInt(context, "max_length", fixedLength ?? DefaultMaxLength);
        if (maxLength < 3 || maxLength > fixedLength)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': handler.max_length is {maxLength}; it must be at least 3 ([CLS], a token, [SEP])" +
                (fixedLength is { } length ? $" and at most the model's sequence length, {length}." : "."));
        }
        var lowerCase = HandlerFlags.Bool(context, "do_lower_case", defaultValue: true);
        var special = SpecialTokens.Read(context, vocabularyPath);
        WordPieceTokenizer wordPiece;
        try
        {
            wordPiece = WordPieceTokenizer.Create(vocabularyPath, new WordPieceOptions
            {
                UnknownToken = "[UNK]",
                ContinuingSubwordPrefix = "##",
                MaxInputCharsPerWord = 2 * MaxCharactersPerWord, // UTF-16 units; the limit in code points is applied here
            });
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {WordPieceVocabulary} is not a WordPiece vocabulary: {e.Message}", e);
        }
        return new WordPieceInputs(wordPiece, special, lowerCase, maxLength, fixedLength, inputIds,
            byName.GetValueOrDefault("attention_mask"), byName.GetValueOrDefault("token_type_ids"));
    }

    public override TextTokens Tokenize(string text)
    {
        var pieces = new List<int>();
        var limit = _maxLength - 2;
        foreach (var word in BertBasicTokenizer.Tokenize(text, _lowerCase))
        {
            if (pieces.Count > limit)
            {
                break; // truncated: the words after these are never read
            }
            if (word.EnumerateRunes().Count() > MaxCharactersPerWord)
            {
                pieces.Add(_special.Unknown);
            }
            else
            {
                pieces.AddRange(_wordPiece.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
            }
        }
        if (pieces.Count == 0)
        {
            throw new InvalidRequestException("The text has no tokens to classify: it holds only control or unassigned characters.");
        }
        var kept = Math.Min(pieces.Count, limit);
        var ids = new long[kept + 2];
        ids[0] = _special.Classification;
        for (var i = 0; i < kept; i++)
        {
            ids[i + 1] = pieces[i];
        }
        ids[^1] = _special.Separator;
        return new TextTokens(ids, Truncated: kept < pieces.Count);
    }

    public override Dictionary<string, Tensor> Batch(IReadOnlyList<TextTokens> texts)
    {
        var length = _fixedLength ?? texts.Max(t => t.Ids.Length);
        var ids = new long[texts.Count * length];
        var mask = new long[ids.Length];
        Array.Fill(ids, _special.Padding);
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

    /// <summary>The ids of BERT's special tokens: their line in vocab.txt.</summary>
    private sealed record SpecialTokens(int Classification, int Separator, int Padding, int Unknown)
    {
        public static SpecialTokens Read(HandlerContext context, string vocabularyPath)
        {
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            var line = 0;
            foreach (var token in File.ReadLines(vocabularyPath))
            {
                ids.TryAdd(token.Trim(), line++);
            }
            string[] names = ["[CLS]", "[SEP]", "[PAD]", "[UNK]"];
            var missing = names.Where(n => !ids.ContainsKey(n)).ToArray();
            if (missing.Length > 0)
            {
                throw new ModelLoadException($"Model '{context.ModelName}': {WordPieceVocabulary} has no {string.Join(", ", missing)}; a BERT vocabulary has all of {string.Join(", ", names)}.");
            }
            return new SpecialTokens(ids["[CLS]"], ids["[SEP]"], ids["[PAD]"], ids["[UNK]"]);
        }
    }
}
