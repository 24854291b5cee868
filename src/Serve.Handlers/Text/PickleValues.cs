using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Serve.Handlers.Text;

/// <summary>A Python global a pickle names (<c>collections.OrderedDict</c>); never looked up or called here.</summary>
internal sealed record PickleGlobal(string Name);

/// <summary>
/// What a pickle would have built by calling <see cref="Callable"/> (REDUCE, NEWOBJ) and then
/// setting <see cref="State"/> (BUILD): recorded, not run.
/// </summary>
internal sealed class PickleObject(PickleGlobal callable, object?[] arguments)
{
    public PickleGlobal Callable { get; } = callable;

    public object?[] Arguments { get; } = arguments;

    public object? State { get; set; }
}

/// <summary>
/// Reads a pickle's data without running it: strings, numbers, lists, tuples (<c>object?[]</c>),
/// dicts (<c>Dictionary&lt;object, object?&gt;</c>, OrderedDict too) and, for anything a class or
/// function would build, an inert <see cref="PickleObject"/>. Each global the pickle names must be
/// on the caller's allow-list, or the file is refused. This is the data of a pickle as
/// <c>torch.load(weights_only=True)</c> would see it, so Serve reads TorchServe's pickled
/// vocabularies without Python. (Serve.Torch's PickleScanner checks state_dicts the same way; it
/// lives with libtorch, which the built-in handlers must not pull in.)
/// </summary>
internal static class PickleValues
{
    private static readonly object Mark = new();

    /// <exception cref="InvalidDataException">A global off <paramref name="allowedGlobals"/>, an opcode outside the data subset, or a malformed pickle; the message names <paramref name="source"/>.</exception>
    public static object? Read(ReadOnlySpan<byte> pickle, IReadOnlySet<string> allowedGlobals, string source)
    {
        var stack = new List<object?>();
        var memo = new Dictionary<long, object?>();
        var position = 0;
        while (true)
        {
            var offset = position;
            var opcode = Take(pickle, ref position, 1, source)[0];
            switch (opcode)
            {
                case 0x80: Take(pickle, ref position, 1, source); break;                        // PROTO
                case 0x95: Take(pickle, ref position, 8, source); break;                        // FRAME
                case (byte)'.': return stack.Count == 1 ? stack[0] : throw Malformed(source, $"STOP with {stack.Count} values on the stack");
                case (byte)'(': stack.Add(Mark); break;                                         // MARK
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(pickle, ref position, 4, source))); break;
                case (byte)'K': stack.Add((long)Take(pickle, ref position, 1, source)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(pickle, ref position, 2, source))); break;
                case 0x8a:                                                                      // LONG1
                {
                    var bytes = Take(pickle, ref position, Take(pickle, ref position, 1, source)[0], source);
                    stack.Add(bytes.Length <= 8 ? Long(bytes) : throw Malformed(source, $"an integer of {bytes.Length} bytes at byte {offset}"));
                    break;
                }
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(pickle, ref position, 8, source))); break;
                case (byte)'X': stack.Add(Text(pickle, ref position, (int)BinaryPrimitives.ReadUInt32LittleEndian(Take(pickle, ref position, 4, source)), source)); break;
                case 0x8c: stack.Add(Text(pickle, ref position, Take(pickle, ref position, 1, source)[0], source)); break;
                case (byte)'U': stack.Add(Text(pickle, ref position, Take(pickle, ref position, 1, source)[0], source)); break;
                case (byte)'T': stack.Add(Text(pickle, ref position, (int)BinaryPrimitives.ReadUInt32LittleEndian(Take(pickle, ref position, 4, source)), source)); break;
                case (byte)')': stack.Add(Array.Empty<object?>()); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'}': stack.Add(new Dictionary<object, object?>()); break;
                case 0x8f: stack.Add(new List<object?>()); break;                               // EMPTY_SET: a set's items as a list
                case 0x85: stack.Add(new[] { Pop(stack, source) }); break;                      // TUPLE1
                case 0x86: { var b = Pop(stack, source); var a = Pop(stack, source); stack.Add(new[] { a, b }); break; }
                case 0x87: { var c = Pop(stack, source); var b = Pop(stack, source); var a = Pop(stack, source); stack.Add(new[] { a, b, c }); break; }
                case (byte)'t': stack.Add(PopToMark(stack, source).ToArray()); break;            // TUPLE
                case (byte)'l': stack.Add(PopToMark(stack, source)); break;                      // LIST
                case (byte)'d': stack.Add(Pairs(new Dictionary<object, object?>(), PopToMark(stack, source), source)); break; // DICT
                case (byte)'a': { var item = Pop(stack, source); ListAt(stack, source).Add(item); break; } // APPEND
                case (byte)'e': case 0x90: { var items = PopToMark(stack, source); ListAt(stack, source).AddRange(items); break; } // APPENDS, ADDITEMS
                case (byte)'s': { var value = Pop(stack, source); var key = Pop(stack, source); Pairs(DictAt(stack, source), [key, value], source); break; } // SETITEM
                case (byte)'u': { var items = PopToMark(stack, source); Pairs(DictAt(stack, source), items, source); break; } // SETITEMS
                case (byte)'q': memo[Take(pickle, ref position, 1, source)[0]] = Peek(stack, source); break; // BINPUT
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(pickle, ref position, 4, source))] = Peek(stack, source); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(stack, source); break;                      // MEMOIZE
                case (byte)'h': stack.Add(Memo(memo, Take(pickle, ref position, 1, source)[0], source)); break; // BINGET
                case (byte)'j': stack.Add(Memo(memo, BinaryPrimitives.ReadUInt32LittleEndian(Take(pickle, ref position, 4, source)), source)); break; // LONG_BINGET
                case (byte)'c':                                                                 // GLOBAL
                {
                    var module = Line(pickle, ref position, source);
                    stack.Add(Allow(module + "." + Line(pickle, ref position, source), allowedGlobals, source));
                    break;
                }
                case 0x93:                                                                      // STACK_GLOBAL
                {
                    var name = Pop(stack, source) as string;
                    var module = Pop(stack, source) as string;
                    stack.Add(module is null || name is null
                        ? throw Malformed(source, $"STACK_GLOBAL at byte {offset} without a module and name")
                        : Allow(module + "." + name, allowedGlobals, source));
                    break;
                }
                case (byte)'R': case 0x81:                                                      // REDUCE, NEWOBJ
                {
                    var arguments = Pop(stack, source) as object?[] ?? throw Malformed(source, $"a call at byte {offset} without an argument tuple");
                    var callable = Pop(stack, source) as PickleGlobal ?? throw Malformed(source, $"a call at byte {offset} of something other than a global");
                    stack.Add(Construct(callable, arguments));
                    break;
                }
                case (byte)'b':                                                                 // BUILD
                {
                    var state = Pop(stack, source);
                    (Peek(stack, source) as PickleObject ?? throw Malformed(source, $"BUILD at byte {offset} on something no class built")).State = state;
                    break;
                }
                default:
                    throw new InvalidDataException(
                        $"{source}: pickle opcode 0x{opcode:x2} at byte {offset} is outside what Serve reads (plain data and allowed classes); the file is refused and nothing in it ran.");
            }
        }
    }

    /// <summary>The containers a pickle builds by calling their class, as data; anything else as an inert <see cref="PickleObject"/>.</summary>
    private static object Construct(PickleGlobal callable, object?[] arguments) => (callable.Name, arguments) switch
    {
        ("collections.OrderedDict", []) or ("collections.defaultdict", [_]) => new Dictionary<object, object?>(),
        ("collections.Counter", [Dictionary<object, object?> counts]) => counts,
        ("builtins.set" or "__builtin__.set", [List<object?> items]) => items,
        _ => new PickleObject(callable, arguments),
    };

    private static PickleGlobal Allow(string global, IReadOnlySet<string> allowed, string source) =>
        allowed.Contains(global) ? new PickleGlobal(global) : throw new InvalidDataException(
            $"{source} refers to the Python global '{global}', which is not among those this file may hold ({string.Join(", ", allowed)}); the file is refused and nothing in it ran.");

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> pickle, ref int position, int count, string source)
    {
        if (count < 0 || position + count > pickle.Length)
        {
            throw Malformed(source, $"it ends inside an opcode at byte {position}");
        }
        var span = pickle.Slice(position, count);
        position += count;
        return span;
    }

    private static string Text(ReadOnlySpan<byte> pickle, ref int position, int length, string source) =>
        Encoding.UTF8.GetString(Take(pickle, ref position, length, source));

    private static string Line(ReadOnlySpan<byte> pickle, ref int position, string source)
    {
        var end = pickle[position..].IndexOf((byte)'\n');
        var text = end >= 0 ? Encoding.UTF8.GetString(pickle.Slice(position, end)) : throw Malformed(source, $"an unterminated line at byte {position}");
        position += end + 1;
        return text;
    }

    private static long Long(ReadOnlySpan<byte> bytes)
    {
        long value = 0;
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }
        // Two's complement of the bytes' width.
        return bytes.Length is > 0 and < 8 && (bytes[^1] & 0x80) != 0 ? value - (1L << (8 * bytes.Length)) : value;
    }

    private static object? Pop(List<object?> stack, string source)
    {
        var top = Peek(stack, source);
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    private static object? Peek(List<object?> stack, string source) =>
        stack.Count > 0 && stack[^1] != Mark ? stack[^1] : throw Malformed(source, "a value is missing from the stack");

    private static List<object?> PopToMark(List<object?> stack, string source)
    {
        var mark = stack.LastIndexOf(Mark);
        if (mark < 0)
        {
            throw Malformed(source, "no MARK to pop");
        }
        var items = stack.GetRange(mark + 1, stack.Count - mark - 1);
        stack.RemoveRange(mark, stack.Count - mark);
        return items;
    }

    private static List<object?> ListAt(List<object?> stack, string source) =>
        Peek(stack, source) as List<object?> ?? throw Malformed(source, "APPEND to something that is not a list");

    private static Dictionary<object, object?> DictAt(List<object?> stack, string source) =>
        Peek(stack, source) as Dictionary<object, object?> ?? throw Malformed(source, "SETITEM on something that is not a dict");

    private static Dictionary<object, object?> Pairs(Dictionary<object, object?> dict, List<object?> items, string source)
    {
        for (var i = 0; i + 1 < items.Count; i += 2)
        {
            dict[items[i] ?? throw Malformed(source, "a dict key that is None")] = items[i + 1];
        }
        return items.Count % 2 == 0 ? dict : throw Malformed(source, "a dict with a key and no value");
    }

    private static object? Memo(Dictionary<long, object?> memo, long index, string source) =>
        memo.TryGetValue(index, out var value) ? value : throw Malformed(source, $"memo entry {index} read before it was written");

    private static InvalidDataException Malformed(string source, string what) => new($"{source} is not a well-formed pickle ({what}); refused.");
}
