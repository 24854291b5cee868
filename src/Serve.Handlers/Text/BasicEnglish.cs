using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace Serve.Handlers.Text;

/// <summary>
/// torchtext's <c>get_tokenizer("basic_english")</c> (torchtext/data/utils.py, copied into
/// TorchServe's ts/handler_utils/text_utils.py): lower case, then its twelve regular expressions in
/// order, then Python's <c>str.split()</c>; and <c>ngrams_iterator</c>.
/// </summary>
internal static partial class BasicEnglish
{
    /// <summary>torchtext's patterns and replacements, in its order (all but the last are literal).</summary>
    private static readonly (string Pattern, string Replacement)[] Literals =
    [
        ("'", " '  "), ("\"", ""), (".", " . "), ("<br />", " "), (",", " , "), ("(", " ( "),
        (")", " ) "), ("!", " ! "), ("?", " ? "), (";", " "), (":", " "),
    ];

    /// <summary>Python's <c>\s</c> on str patterns, which is <c>str.isspace()</c>: .NET's <c>\s</c> and U+001C-U+001F.</summary>
    [GeneratedRegex(@"[\s\x1C-\x1F]+")]
    private static partial Regex PythonWhitespace();

    /// <summary>The tokens of <paramref name="line"/> as torchtext's basic_english gives them.</summary>
    public static string[] Tokenize(string line)
    {
        var builder = new StringBuilder(PythonText.Lower(line));
        foreach (var (pattern, replacement) in Literals)
        {
            builder.Replace(pattern, replacement);
        }
        return PythonText.Split(PythonWhitespace().Replace(builder.ToString(), " "));
    }

    /// <summary>torchtext's <c>ngrams_iterator</c>: the tokens, then each run of 2..n tokens joined by a space.</summary>
    public static List<string> Ngrams(string[] tokens, int n)
    {
        var result = new List<string>(tokens.Length * Math.Max(n, 1));
        result.AddRange(tokens);
        for (var size = 2; size <= n; size++)
        {
            for (var start = 0; start + size <= tokens.Length; start++)
            {
                result.Add(string.Join(' ', tokens, start, size));
            }
        }
        return result;
    }
}
