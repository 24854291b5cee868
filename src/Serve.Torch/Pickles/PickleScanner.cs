using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace Serve.Torch.Pickles;

/// <summary>
/// Reads a pickle's opcodes without running any of them and refuses it unless every global it
/// names (GLOBAL, INST, STACK_GLOBAL) is on the allow-list of what a PyTorch state_dict needs, as
/// PyTorch's <c>weights_only</c> unpickler does. A pickle that names <c>os.system</c> is how a
/// "weights" file runs code; this scan stops it before any unpickler sees the file.
/// STACK_GLOBAL takes its names from the stack, so the scan keeps a model of the stack (strings
/// known, everything else opaque) rather than guessing from the last strings it saw.
/// </summary>
public static class PickleScanner
{
    /// <summary>The globals a state_dict's pickle may name: tensor rebuilding, storages, OrderedDict.</summary>
    public static IReadOnlySet<string> AllowedGlobals { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
        "torch.ByteStorage", "torch.BoolStorage",
    };

    private static readonly object Opaque = new();

    /// <summary>Scans one pickle; returns the globals it names, all allowed.</summary>
    /// <exception cref="UnsafePickleException">A global off the allow-list, an opcode that can reach one, or a malformed pickle.</exception>
    public static IReadOnlyList<string> Scan(ReadOnlySpan<byte> pickle, string source)
    {
        var globals = new List<string>();
        var stack = new List<object>();
        var marks = new Stack<List<object>>();
        var memo = new Dictionary<long, object>();
        var reader = new Reader(pickle, source);

        while (true)
        {
            var offset = reader.Position;
            var opcode = reader.Byte();
            switch (opcode)
            {
                case (byte)'.': // STOP
                    return globals;
                case 0x80: reader.Skip(1); break;                 // PROTO
                case 0x95: reader.Skip(8); break;                 // FRAME
                case (byte)'(':                                   // MARK
                    marks.Push(stack);
                    stack = [];
                    break;
                case (byte)'0':                                   // POP
                    if (stack.Count > 0) Pop(stack, reader, offset); else stack = PopMark(marks, reader, offset);
                    break;
                case (byte)'1': stack = PopMark(marks, reader, offset); break; // POP_MARK
                case (byte)'2': stack.Add(Peek(stack, reader, offset)); break; // DUP

                // Values that cannot name a global.
                case (byte)'F': case (byte)'I': case (byte)'L': reader.Line(); stack.Add(Opaque); break;
                case (byte)'J': reader.Skip(4); stack.Add(Opaque); break;
                case (byte)'K': reader.Skip(1); stack.Add(Opaque); break;
                case (byte)'M': reader.Skip(2); stack.Add(Opaque); break;
                case (byte)'G': reader.Skip(8); stack.Add(Opaque); break;
                case 0x8a: reader.Skip(reader.Byte()); stack.Add(Opaque); break;            // LONG1
                case 0x8b: reader.Skip(reader.UInt32()); stack.Add(Opaque); break;          // LONG4
                case (byte)'B': reader.Skip(reader.UInt32()); stack.Add(Opaque); break;     // BINBYTES
                case (byte)'C': reader.Skip(reader.Byte()); stack.Add(Opaque); break;       // SHORT_BINBYTES
                case 0x8e: case 0x96: reader.Skip(reader.UInt64()); stack.Add(Opaque); break; // BINBYTES8, BYTEARRAY8
                case (byte)'N': case 0x88: case 0x89:                                       // NONE, NEWTRUE, NEWFALSE
                case (byte)'}': case (byte)']': case (byte)')': case 0x8f:                  // empty dict, list, tuple, set
                case 0x97:                                                                  // NEXT_BUFFER
                    stack.Add(Opaque);
                    break;
                case 0x98: break;                                                           // READONLY_BUFFER

                // Strings: kept, since STACK_GLOBAL takes its module and name from them.
                case (byte)'S': stack.Add(Unquote(reader.Line())); break;                   // STRING
                case (byte)'V': stack.Add(reader.Line()); break;                            // UNICODE
                case (byte)'T': case (byte)'X': stack.Add(reader.Text(reader.UInt32())); break; // BINSTRING, BINUNICODE
                case (byte)'U': case 0x8c: stack.Add(reader.Text(reader.Byte())); break;    // SHORT_BINSTRING, SHORT_BINUNICODE
                case 0x8d: stack.Add(reader.Text(reader.UInt64())); break;                  // BINUNICODE8

                // Memo.
                case (byte)'p': memo[ParseIndex(reader.Line(), reader, offset)] = Peek(stack, reader, offset); break; // PUT
                case (byte)'q': memo[reader.Byte()] = Peek(stack, reader, offset); break;   // BINPUT
                case (byte)'r': memo[reader.UInt32()] = Peek(stack, reader, offset); break; // LONG_BINPUT
                case 0x94: memo[memo.Count] = Peek(stack, reader, offset); break;           // MEMOIZE
                case (byte)'g': stack.Add(Get(memo, ParseIndex(reader.Line(), reader, offset), reader, offset)); break; // GET
                case (byte)'h': stack.Add(Get(memo, reader.Byte(), reader, offset)); break; // BINGET
                case (byte)'j': stack.Add(Get(memo, reader.UInt32(), reader, offset)); break; // LONG_BINGET

                // Globals: the only way a pickle reaches code.
                case (byte)'c':                                                             // GLOBAL
                    Allow(reader.Line(), reader.Line(), globals, source);
                    stack.Add(Opaque);
                    break;
                case (byte)'i':                                                             // INST
                    Allow(reader.Line(), reader.Line(), globals, source);
                    stack = PopMark(marks, reader, offset);
                    stack.Add(Opaque);
                    break;
                case 0x93:                                                                  // STACK_GLOBAL
                {
                    var name = Pop(stack, reader, offset);
                    var module = Pop(stack, reader, offset);
                    if (module is not string moduleText || name is not string nameText)
                    {
                        throw new UnsafePickleException(
                            $"{source}: STACK_GLOBAL at byte {offset} takes a module or name that is not a constant string, so the global it loads cannot be checked; refused.");
                    }
                    Allow(moduleText, nameText, globals, source);
                    stack.Add(Opaque);
                    break;
                }
                case 0x82: case 0x83: case 0x84:                                            // EXT1, EXT2, EXT4
                    throw new UnsafePickleException(
                        $"{source}: opcode EXT{(opcode == 0x82 ? 1 : opcode == 0x83 ? 2 : 4)} at byte {offset} loads a global from the extension registry, which cannot be checked by name; refused.");

                // Calls and containers: their callables came from globals checked above.
                case (byte)'P': reader.Line(); stack.Add(Opaque); break;                    // PERSID
                case (byte)'Q': Pop(stack, reader, offset); stack.Add(Opaque); break;       // BINPERSID
                case (byte)'R': case 0x81: Pop(stack, reader, offset); Pop(stack, reader, offset); stack.Add(Opaque); break; // REDUCE, NEWOBJ
                case 0x92: Pop(stack, reader, offset); Pop(stack, reader, offset); Pop(stack, reader, offset); stack.Add(Opaque); break; // NEWOBJ_EX
                case (byte)'b': Pop(stack, reader, offset); Pop(stack, reader, offset); stack.Add(Opaque); break; // BUILD
                case (byte)'o': case (byte)'d': case (byte)'l': case (byte)'t': case 0x91:  // OBJ, DICT, LIST, TUPLE, FROZENSET
                    stack = PopMark(marks, reader, offset);
                    stack.Add(Opaque);
                    break;
                case 0x85: Pop(stack, reader, offset); stack.Add(Opaque); break;            // TUPLE1
                case 0x86: Pop(stack, reader, offset); Pop(stack, reader, offset); stack.Add(Opaque); break; // TUPLE2
                case 0x87: Pop(stack, reader, offset); Pop(stack, reader, offset); Pop(stack, reader, offset); stack.Add(Opaque); break; // TUPLE3
                case (byte)'a': Pop(stack, reader, offset); break;                          // APPEND
                case (byte)'s': Pop(stack, reader, offset); Pop(stack, reader, offset); break; // SETITEM
                case (byte)'e': case (byte)'u': case 0x90:                                  // APPENDS, SETITEMS, ADDITEMS
                    stack = PopMark(marks, reader, offset);
                    break;
                default:
                    throw new UnsafePickleException($"{source}: unknown pickle opcode 0x{opcode:x2} at byte {offset}; refused.");
            }
        }
    }

    private static void Allow(string module, string name, List<string> globals, string source)
    {
        var global = module + "." + name;
        if (!AllowedGlobals.Contains(global))
        {
            throw new UnsafePickleException(
                $"{source} refers to the Python global '{global}', which a state_dict does not need and which could run code when unpickled; the file is refused and nothing in it ran. " +
                $"Allowed globals: {string.Join(", ", AllowedGlobals)}.", global);
        }
        globals.Add(global);
    }

    private static object Pop(List<object> stack, Reader reader, int offset)
    {
        var top = Peek(stack, reader, offset);
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    private static object Peek(List<object> stack, Reader reader, int offset) =>
        stack.Count > 0 ? stack[^1] : throw reader.Malformed($"the stack is empty at byte {offset}");

    private static List<object> PopMark(Stack<List<object>> marks, Reader reader, int offset) =>
        marks.Count > 0 ? marks.Pop() : throw reader.Malformed($"no MARK to pop at byte {offset}");

    private static object Get(Dictionary<long, object> memo, long index, Reader reader, int offset) =>
        memo.TryGetValue(index, out var value) ? value : throw reader.Malformed($"memo entry {index} read before it was written, at byte {offset}");

    private static long ParseIndex(string text, Reader reader, int offset) =>
        long.TryParse(text, out var index) ? index : throw reader.Malformed($"bad memo index '{text}' at byte {offset}");

    private static string Unquote(string text) =>
        text.Length >= 2 && (text[0] == '\'' || text[0] == '"') && text[^1] == text[0] ? text[1..^1] : text;

    private ref struct Reader(ReadOnlySpan<byte> data, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public byte Byte() => Take(1)[0];

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public long UInt64()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
            return value <= int.MaxValue ? (long)value : throw Malformed($"a length of {value} bytes at byte {Position - 8}");
        }

        public void Skip(long count) => Take(count);

        public string Text(long length) => Encoding.UTF8.GetString(Take(length));

        public string Line()
        {
            var end = _data[Position..].IndexOf((byte)'\n');
            if (end < 0)
            {
                throw Malformed($"an unterminated line at byte {Position}");
            }
            var text = Encoding.UTF8.GetString(_data.Slice(Position, end));
            Position += end + 1;
            return text;
        }

        public UnsafePickleException Malformed(string what) => new($"{source} is not a well-formed pickle ({what}); refused.");

        private ReadOnlySpan<byte> Take(long count)
        {
            if (count < 0 || Position + count > _data.Length)
            {
                throw Malformed($"it ends inside an opcode at byte {Position}");
            }
            var span = _data.Slice(Position, (int)count);
            Position += (int)count;
            return span;
        }
    }
}

/// <summary>A pickle was refused before any unpickler saw it.</summary>
public sealed class UnsafePickleException(string message, string? global = null) : Exception(message)
{
    /// <summary>The refused global ("posix.system"), when a global was the reason.</summary>
    public string? Global { get; } = global;
}
