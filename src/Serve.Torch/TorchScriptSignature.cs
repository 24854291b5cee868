using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Serve.Runtime;

namespace Serve.Torch;

/// <summary>One argument of a TorchScript module's <c>forward</c>, as its code declares it.</summary>
/// <param name="Name">The argument's name, the input name it binds.</param>
/// <param name="Type">The TorchScript type as written: <c>Tensor</c>, <c>Optional[Tensor]</c>, <c>int</c>, ...</param>
/// <param name="HasDefault">Whether the code gives it a default (<c>x: int=1</c>).</param>
internal sealed record ForwardArgument(string Name, string Type, bool HasDefault)
{
    public bool IsTensor => Type == "Tensor";
}

/// <summary>
/// The argument names of a TorchScript file's <c>forward</c>. libtorch (through TorchSharp 0.107)
/// gives a script module's argument count but not its names, so they are read from the archive:
/// <c>data.pkl</c> opens with the root module's class (<c>__torch__.TextSentiment</c>), and the
/// code under <c>code/</c> holds that class's <c>def forward(self: __torch__.TextSentiment, text: Tensor, ...)</c>.
/// </summary>
internal static partial class TorchScriptSignature
{
    /// <exception cref="ModelLoadException">The archive's root class or its forward cannot be found; the message says which.</exception>
    public static IReadOnlyList<ForwardArgument> Read(string path, string modelName)
    {
        using var zip = ZipFile.OpenRead(path);
        if (!zip.Entries.Any(IsDataPickle))
        {
            throw Unreadable(path, modelName, "it has no data.pkl");
        }
        var rootClass = RootClass(zip) ?? throw Unreadable(path, modelName, "its data.pkl does not open with the module's class");
        var forward = new Regex(@"\bdef forward\(self: " + Regex.Escape(rootClass) + @"(?<arguments>[^)]*)\) ->", RegexOptions.Singleline);
        foreach (var entry in zip.Entries.Where(e => e.FullName.Contains("/code/", StringComparison.Ordinal) && e.FullName.EndsWith(".py", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(entry.Open());
            if (forward.Match(reader.ReadToEnd()) is { Success: true } match)
            {
                return Arguments(match.Groups["arguments"].Value);
            }
        }
        throw Unreadable(path, modelName, $"its code has no forward of {rootClass}");
    }

    /// <summary>The class of the pickle's first GLOBAL opcode (protocol 2: <c>\x80\x02 c module\n name\n</c>), as <c>module.name</c>.</summary>
    public static string? RootClass(ZipArchive zip)
    {
        if (zip.Entries.FirstOrDefault(IsDataPickle) is not { } pickle)
        {
            return null;
        }
        using var stream = pickle.Open();
        var head = new byte[512];
        var read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < 4 || head[0] != 0x80 || head[2] != (byte)'c')
        {
            return null;
        }
        var lines = Encoding.UTF8.GetString(head, 3, read - 3).Split('\n');
        return lines.Length >= 3 ? lines[0] + "." + lines[1] : null;
    }

    /// <summary>The arguments after <c>self</c>: <c>,\n    text: Tensor,\n    offsets: Tensor</c>, split at the commas outside brackets.</summary>
    private static bool IsDataPickle(ZipArchiveEntry e) => e.FullName.Count(c => c == '/') == 1 && e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal);

    public static List<ForwardArgument> Arguments(string text)
    {
        var arguments = new List<ForwardArgument>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            var c = i < text.Length ? text[i] : ',';
            depth += c is '[' or '(' ? 1 : c is ']' or ')' ? -1 : 0;
            if (c == ',' && depth == 0)
            {
                if (Argument().Match(text[start..i]) is { Success: true } match)
                {
                    arguments.Add(new ForwardArgument(match.Groups["name"].Value, match.Groups["type"].Value.Trim(), match.Groups["default"].Success));
                }
                start = i + 1;
            }
        }
        return arguments;
    }

    private static ModelLoadException Unreadable(string path, string modelName, string why) => new(
        $"Model '{modelName}': the argument names of '{Path.GetFileName(path)}''s forward cannot be read ({why}); " +
        "run it with one tensor, or save it with torch.jit.save from torch.jit.trace or torch.jit.script.");

    [GeneratedRegex(@"^\s*(?<name>\w+)\s*:\s*(?<type>[^=]+?)\s*(?<default>=.*)?\s*$", RegexOptions.Singleline)]
    private static partial Regex Argument();
}
