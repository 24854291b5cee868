using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Serve.Handlers.Text;

/// <summary>
/// BERT's basic tokenization, before WordPiece (google-research/bert, tokenization.py's
/// BasicTokenizer): drop NUL, U+FFFD and control characters, make white space a space, put spaces
/// around CJK ideographs, split on white space, lower case and strip accents (NFD, then no
/// non-spacing marks) when the model is uncased, and split every punctuation character off:
/// ASCII's symbols and Unicode's P categories. Every character is kept: a symbol or emoji the
/// vocabulary lacks becomes [UNK], as in BERT.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers 2.0.1's BertTokenizer does this step differently (checked against this
/// algorithm on the fixtures' texts): it deletes tabs and line breaks, joining the words around
/// them ("tabs\tand" becomes one word), and drops ASCII symbols such as &lt; &gt; = + and non-letter
/// symbols such as emoji instead of giving [UNK]. So this step is done here, and WordPiece is the
/// library's.
/// </remarks>
internal static class BertBasicTokenizer
{
    /// <summary>The words and punctuation marks of <paramref name="text"/>, in order.</summary>
    public static List<string> Tokenize(string text, bool lowerCase)
    {
        var cleaned = new StringBuilder(text.Length + 16);
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (rune.Value is 0 or 0xFFFD || (IsControl(category) && rune.Value is not ('\t' or '\n' or '\r')))
            {
                continue;
            }
            if (rune.Value is ' ' or '\t' or '\n' or '\r' || category == UnicodeCategory.SpaceSeparator)
            {
                cleaned.Append(' ');
            }
            else if (IsCjk(rune.Value))
            {
                cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            }
            else
            {
                cleaned.Append(rune.ToString());
            }
        }
        var tokens = new List<string>();
        foreach (var word in PythonText.Split(cleaned.ToString()))
        {
            SplitPunctuation(lowerCase ? StripAccents(PythonText.Lower(word)) : word, tokens);
        }
        return tokens;
    }

    private static void SplitPunctuation(string word, List<string> tokens)
    {
        var start = 0;
        var index = 0;
        foreach (var rune in word.EnumerateRunes())
        {
            if (IsPunctuation(rune))
            {
                if (index > start)
                {
                    tokens.Add(word[start..index]);
                }
                tokens.Add(rune.ToString());
                start = index + rune.Utf16SequenceLength;
            }
            index += rune.Utf16SequenceLength;
        }
        if (index > start)
        {
            tokens.Add(word[start..index]);
        }
    }

    private static string StripAccents(string word)
    {
        var decomposed = word.Normalize(NormalizationForm.FormD);
        var kept = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                kept.Append(rune.ToString());
            }
        }
        return kept.ToString();
    }

    private static bool IsControl(UnicodeCategory category) => category is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>BERT's punctuation: every non-alphanumeric ASCII character, and Unicode's P categories.</summary>
    private static bool IsPunctuation(Rune rune) =>
        rune.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126 || Rune.IsPunctuation(rune);

    /// <summary>BERT's CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana, which are spaced like Latin).</summary>
    private static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
