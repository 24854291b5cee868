using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;

namespace Serve.Handlers.Text;

/// <summary>
/// TorchServe's <c>source_vocab.pt</c>: a torchtext vocabulary saved with <c>torch.save</c>, read
/// as data (<see cref="PickleValues"/>), nothing run. Two forms:
/// torchtext 0.10 and later (TorchServe's text_classification example: <c>build_vocab_from_iterator</c>,
/// <c>set_default_index</c>): a <c>torchtext.vocab.vocab.Vocab</c> module whose <c>vocab</c> is the
/// C++ <c>torchtext._torchtext.Vocab</c>, pickled as its state <c>(version, [default index], itos, [])</c>;
/// and the legacy <c>torchtext.vocab.Vocab</c> (before 0.10), whose <c>itos</c> list is in its
/// <c>__dict__</c> and whose unknown tokens map to <c>unk_index</c>.
/// </summary>
internal sealed record TorchTextVocabulary(IReadOnlyList<string> Tokens, long? DefaultIndex)
{
    /// <summary>What a pickled torchtext vocabulary names: its classes, and the containers nn.Module and the legacy vocab hold.</summary>
    public static IReadOnlySet<string> AllowedGlobals { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "torchtext.vocab.vocab.Vocab", "torchtext._torchtext.Vocab",
        "torchtext.vocab.Vocab", "torchtext.vocab._default_unk_index",
        "collections.OrderedDict", "collections.Counter", "collections.defaultdict",
        "builtins.set", "__builtin__.set", // protocol 2 writes Python 2's module name
    };

    /// <exception cref="InvalidDataException">Not a torch.save zip holding a torchtext vocabulary; the message says what it holds instead.</exception>
    public static TorchTextVocabulary Read(string path)
    {
        var name = Path.GetFileName(path);
        using (var file = File.OpenRead(path))
        {
            Span<byte> magic = stackalloc byte[4];
            if (file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || !magic.SequenceEqual("PK\u0003\u0004"u8))
            {
                throw new InvalidDataException(
                    $"{name} is not in the zip format torch.save writes since PyTorch 1.6 (an older torch.save, or not a torch file); load it and torch.save it again with a current torch.");
            }
        }
        using var zip = ZipFile.OpenRead(path);
        var entry = zip.Entries.FirstOrDefault(e => e.FullName.Count(c => c == '/') == 1 && e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
            ?? throw new InvalidDataException($"{name} is a zip without the data.pkl torch.save writes.");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var pickle = buffer.ToArray();
        return FromPickle(PickleValues.Read(pickle, AllowedGlobals, $"{name} (data.pkl)"), name);
    }

    private static TorchTextVocabulary FromPickle(object? root, string name)
    {
        if (root is PickleObject { Callable.Name: "torchtext.vocab.vocab.Vocab", State: Dictionary<object, object?> module }
            && module.GetValueOrDefault("vocab") is PickleObject { Callable.Name: "torchtext._torchtext.Vocab", State: object?[] state }
            && state.Length >= 3 && state[1] is List<object?> integers && Strings(state[2]) is { } itos)
        {
            return new(itos, integers.Count > 0 && integers[0] is long index ? index : null);
        }
        if (root is PickleObject { Callable.Name: "torchtext.vocab.Vocab", State: Dictionary<object, object?> legacy } && Strings(legacy.GetValueOrDefault("itos")) is { } legacyItos)
        {
            return new(legacyItos, legacy.GetValueOrDefault("unk_index") as long?);
        }
        var what = root is PickleObject o ? $"a {o.Callable.Name}" : root?.GetType().Name ?? "None";
        throw new InvalidDataException($"{name} holds {what}, not a torchtext Vocab (torch.save of build_vocab_from_iterator's vocab, or of a legacy torchtext.vocab.Vocab).");
    }

    private static List<string>? Strings(object? value) =>
        value is List<object?> list && list.All(v => v is string) ? [.. list.Cast<string>()] : null;
}
