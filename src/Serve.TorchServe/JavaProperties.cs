using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Serve.TorchServe;

/// <summary>
/// Reads the Java properties format TorchServe's config.properties is written in:
/// <c>key=value</c>, <c>key: value</c> or <c>key value</c>; <c>#</c> and <c>!</c> comments;
/// a trailing backslash continues a line; <c>\t \n \r \f \uXXXX</c> and escaped separators.
/// </summary>
internal static class JavaProperties
{
    /// <summary>One property and the line it starts on.</summary>
    public readonly record struct Property(string Key, string Value, int Line);

    /// <summary>Parses <paramref name="text"/>; a later duplicate key wins, as in java.util.Properties.</summary>
    public static IReadOnlyList<Property> Parse(string text)
    {
        var properties = new List<Property>();
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var startLine = i + 1;
            var line = lines[i].TrimStart(' ', '\t', '\f');
            if (line.Length == 0 || line[0] is '#' or '!')
            {
                continue;
            }
            // An odd number of trailing backslashes continues the logical line.
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                line = line[..^1] + lines[++i].TrimStart(' ', '\t', '\f');
            }
            if (EndsWithContinuation(line))
            {
                line = line[..^1];
            }
            properties.Add(Split(line, startLine));
        }
        return properties;
    }

    private static bool EndsWithContinuation(string line)
    {
        var count = 0;
        for (var j = line.Length - 1; j >= 0 && line[j] == '\\'; j--)
        {
            count++;
        }
        return count % 2 == 1;
    }

    private static Property Split(string line, int lineNumber)
    {
        var keyEnd = 0;
        while (keyEnd < line.Length && line[keyEnd] is not ('=' or ':' or ' ' or '\t' or '\f'))
        {
            keyEnd += line[keyEnd] == '\\' ? 2 : 1;
        }
        keyEnd = Math.Min(keyEnd, line.Length);
        var valueStart = keyEnd;
        while (valueStart < line.Length && line[valueStart] is ' ' or '\t' or '\f')
        {
            valueStart++;
        }
        if (valueStart < line.Length && line[valueStart] is '=' or ':')
        {
            valueStart++;
            while (valueStart < line.Length && line[valueStart] is ' ' or '\t' or '\f')
            {
                valueStart++;
            }
        }
        return new Property(Unescape(line[..keyEnd], lineNumber), Unescape(line[valueStart..], lineNumber), lineNumber);
    }

    private static string Unescape(string text, int lineNumber)
    {
        if (!text.Contains('\\'))
        {
            return text;
        }
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\' || i + 1 == text.Length)
            {
                result.Append(text[i]);
                continue;
            }
            var c = text[++i];
            switch (c)
            {
                case 't': result.Append('\t'); break;
                case 'n': result.Append('\n'); break;
                case 'r': result.Append('\r'); break;
                case 'f': result.Append('\f'); break;
                case 'u':
                    if (text.Length - i - 1 < 4
                        || !ushort.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw new ConfigPropertiesException($"line {lineNumber}: '\\u' must be followed by four hex digits.");
                    }
                    result.Append((char)code);
                    i += 4;
                    break;
                default: result.Append(c); break;
            }
        }
        return result.ToString();
    }
}
