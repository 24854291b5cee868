using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>One request's text as the model's token ids; <see cref="Truncated"/> when tokens past the maximum length were dropped.</summary>
public sealed record TextTokens(long[] Ids, bool Truncated);

/// <summary>
/// How text becomes a model's inputs. The archive's files choose it:
/// <c>vocab.txt</c> is a BERT WordPiece vocabulary (<see cref="WordPieceInputs"/>), and
/// <c>source_vocab.txt</c> (one token per line) or TorchServe's own <c>source_vocab.pt</c> (a pickled
/// torchtext Vocab) is TorchServe's text_classification vocabulary (<see cref="NgramBagInputs"/>).
/// </summary>
public abstract class TextModelInputs
{
    /// <summary>The BERT vocabulary, one WordPiece token per line.</summary>
    public const string WordPieceVocabulary = "vocab.txt";

    /// <summary>TorchServe's vocabulary as text: one token (or space-joined n-gram) per line, the line's index its id.</summary>
    public const string SourceVocabulary = "source_vocab.txt";

    /// <summary>The vocabulary TorchServe's example pickles with torch.save (a torchtext Vocab), read as data: <see cref="TorchTextVocabulary"/>.</summary>
    public const string PickledSourceVocabulary = "source_vocab.pt";

    /// <summary>One text's token ids; refuses text that leaves no token.</summary>
    /// <exception cref="InvalidRequestException">Nothing to classify in the text.</exception>
    public abstract TextTokens Tokenize(string text);

    /// <summary>The model's named inputs for a batch of texts.</summary>
    public abstract Dictionary<string, Tensor> Batch(IReadOnlyList<TextTokens> texts);

    /// <summary>The inputs for the model in <paramref name="context"/>, chosen by the vocabulary its directory holds.</summary>
    /// <exception cref="ModelLoadException">No vocabulary, two, or a model whose inputs do not fit it.</exception>
    public static TextModelInputs Load(HandlerContext context)
    {
        var wordPiece = Path.Combine(context.ModelDirectory, WordPieceVocabulary);
        string[] present = [.. new[] { WordPieceVocabulary, SourceVocabulary, PickledSourceVocabulary }.Where(f => File.Exists(Path.Combine(context.ModelDirectory, f)))];
        if (present.Length > 1)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}' holds {string.Join(" and ", present)}; text_classifier chooses its tokenizer by the one vocabulary present " +
                $"({WordPieceVocabulary}: BERT WordPiece; {SourceVocabulary} or {PickledSourceVocabulary}: TorchServe's basic_english), so remove the others.");
        }
        var inputs = Inputs(context);
        return present.FirstOrDefault() switch
        {
            WordPieceVocabulary => WordPieceInputs.Load(context, wordPiece, inputs),
            SourceVocabulary => NgramBagInputs.Load(context, SourceVocabulary, NgramBagInputs.ReadLines(Path.Combine(context.ModelDirectory, SourceVocabulary)), inputs),
            PickledSourceVocabulary => NgramBagInputs.Load(context, PickledSourceVocabulary, ReadPickled(context), inputs),
            _ => throw new ModelLoadException(
                $"Model '{context.ModelName}': text_classifier needs a vocabulary in the archive: {WordPieceVocabulary} for a BERT-style model, " +
                $"or {PickledSourceVocabulary} (TorchServe's torchtext Vocab) or {SourceVocabulary} (one token per line) for TorchServe's basic_english and n-grams model."),
        };
    }

    private static TorchTextVocabulary ReadPickled(HandlerContext context)
    {
        try
        {
            return TorchTextVocabulary.Read(Path.Combine(context.ModelDirectory, PickledSourceVocabulary));
        }
        catch (InvalidDataException e)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {e.Message}", e);
        }
    }

    private static IReadOnlyList<TensorDescription> Inputs(HandlerContext context)
    {
        if (context.Model is not (IModelSignature signature and IModel<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>))
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': text_classifier feeds a model integer token tensors by input name, which the {context.Model?.Backend ?? "(no)"} backend does not take; " +
                "serve it as ONNX (torch.onnx.export with named inputs) or TorchScript (torch.jit.trace or torch.jit.script: forward's argument names are the input names).");
        }
        return signature.Inputs;
    }

    /// <summary>
    /// A model input that holds token ids: 64- or 32-bit integers of <paramref name="rank"/> dimensions.
    /// An input that declares no element type or shape (TorchScript) is given int64 and checked by the model as it runs.
    /// </summary>
    private protected static void RequireIntegers(HandlerContext context, TensorDescription input, int rank)
    {
        if (input.ElementType is not (null or TensorElementType.Int64 or TensorElementType.Int32) || (input.Shape is { } shape && shape.Count != rank))
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': input '{input.Name}' is {input.ElementType}{Tensor.FormatShape(input.Shape ?? [])}; text_classifier gives it {rank}-D int64 or int32 token data.");
        }
    }

    /// <summary>The size the input declares for dimension <paramref name="index"/>; -1 when any size fits or the model declares no shape.</summary>
    private protected static long DeclaredSize(TensorDescription input, int index) => input.Shape is { } shape ? shape[index] : -1;

    /// <summary>A tensor of the input's integer type over <paramref name="values"/>.</summary>
    private protected static Tensor IntegerTensor(TensorDescription input, long[] values, params long[] shape) =>
        input.ElementType == TensorElementType.Int32
            ? new Tensor<int>(values.Select(v => checked((int)v)).ToArray(), shape)
            : new Tensor<long>(values, shape);
}
