using System;
using System.Collections.Frozen;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Serve.Handlers.Text;

/// <summary>
/// TorchServe's TextClassifier.preprocess up to its tokenizer (ts/torch_handler/text_handler.py):
/// remove HTML tags and entities, lower case, expand English contractions, decompose (NFKD) and
/// keep only ASCII, drop Python's <c>string.punctuation</c>; then basic_english.
/// </summary>
internal static partial class TorchServeText
{
    /// <summary>
    /// TorchServe's CONTRACTION_MAP (ts/torch_handler/contractions.py, Apache-2.0), in its order:
    /// the pattern is their alternation in this order, so "can't" matches before "can't've" can.
    /// </summary>
    private static readonly (string Contraction, string Expansion)[] Contractions =
    [
        ("ain't", "is not"), ("aren't", "are not"), ("can't", "cannot"), ("can't've", "cannot have"),
        ("'cause", "because"), ("could've", "could have"), ("couldn't", "could not"),
        ("couldn't've", "could not have"), ("didn't", "did not"), ("doesn't", "does not"), ("don't", "do not"),
        ("hadn't", "had not"), ("hadn't've", "had not have"), ("hasn't", "has not"), ("haven't", "have not"),
        ("he'd", "he would"), ("he'd've", "he would have"), ("he'll", "he will"), ("he'll've", "he he will have"),
        ("he's", "he is"), ("how'd", "how did"), ("how'd'y", "how do you"), ("how'll", "how will"),
        ("how's", "how is"), ("I'd", "I would"), ("I'd've", "I would have"), ("I'll", "I will"),
        ("I'll've", "I will have"), ("I'm", "I am"), ("I've", "I have"), ("i'd", "i would"),
        ("i'd've", "i would have"), ("i'll", "i will"), ("i'll've", "i will have"), ("i'm", "i am"),
        ("i've", "i have"), ("isn't", "is not"), ("it'd", "it would"), ("it'd've", "it would have"),
        ("it'll", "it will"), ("it'll've", "it will have"), ("it's", "it is"), ("let's", "let us"), ("ma'am", "madam"),
        ("mayn't", "may not"), ("might've", "might have"), ("mightn't", "might not"),
        ("mightn't've", "might not have"), ("must've", "must have"), ("mustn't", "must not"),
        ("mustn't've", "must not have"), ("needn't", "need not"), ("needn't've", "need not have"),
        ("o'clock", "of the clock"), ("oughtn't", "ought not"), ("oughtn't've", "ought not have"),
        ("shan't", "shall not"), ("sha'n't", "shall not"), ("shan't've", "shall not have"), ("she'd", "she would"),
        ("she'd've", "she would have"), ("she'll", "she will"), ("she'll've", "she will have"), ("she's", "she is"),
        ("should've", "should have"), ("shouldn't", "should not"), ("shouldn't've", "should not have"),
        ("so've", "so have"), ("so's", "so as"), ("that'd", "that would"), ("that'd've", "that would have"),
        ("that's", "that is"), ("there'd", "there would"), ("there'd've", "there would have"), ("there's", "there is"),
        ("they'd", "they would"), ("they'd've", "they would have"), ("they'll", "they will"),
        ("they'll've", "they will have"), ("they're", "they are"), ("they've", "they have"), ("to've", "to have"),
        ("wasn't", "was not"), ("we'd", "we would"), ("we'd've", "we would have"), ("we'll", "we will"),
        ("we'll've", "we will have"), ("we're", "we are"), ("we've", "we have"), ("weren't", "were not"),
        ("what'll", "what will"), ("what'll've", "what will have"), ("what're", "what are"), ("what's", "what is"),
        ("what've", "what have"), ("when's", "when is"), ("when've", "when have"), ("where'd", "where did"),
        ("where's", "where is"), ("where've", "where have"), ("who'll", "who will"), ("who'll've", "who will have"),
        ("who's", "who is"), ("who've", "who have"), ("why's", "why is"), ("why've", "why have"),
        ("will've", "will have"), ("won't", "will not"), ("won't've", "will not have"), ("would've", "would have"),
        ("wouldn't", "would not"), ("wouldn't've", "would not have"), ("y'all", "you all"),
        ("y'all'd", "you all would"), ("y'all'd've", "you all would have"), ("y'all're", "you all are"),
        ("y'all've", "you all have"), ("you'd", "you would"), ("you'd've", "you would have"), ("you'll", "you will"),
        ("you'll've", "you will have"), ("you're", "you are"), ("you've", "you have"),
    ];

    private static readonly FrozenDictionary<string, string> Expansions =
        Contractions.DistinctBy(c => c.Contraction).ToFrozenDictionary(c => c.Contraction, c => c.Expansion);

    private static readonly Regex ContractionPattern = new(
        "(" + string.Join('|', Contractions.Select(c => Regex.Escape(c.Contraction))) + ")",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);

    /// <summary>TorchServe's CLEANUP_REGEX (ts/utils/util.py): tags and character entities.</summary>
    [GeneratedRegex("<.*?>|&([a-z0-9]+|#[0-9]{1,6}|#x[0-9a-f]{1,6});")]
    private static partial Regex HtmlTagsAndEntities();

    /// <summary>Python's <c>string.punctuation</c>.</summary>
    private const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// <summary>The tokens TorchServe's text_classifier looks up in its vocabulary (before n-grams).</summary>
    public static string[] Tokens(string text) => BasicEnglish.Tokenize(Clean(text));

    /// <summary>The text after TorchServe's cleanup, as its basic_english tokenizer receives it.</summary>
    public static string Clean(string text)
    {
        text = HtmlTagsAndEntities().Replace(text, "");
        text = PythonText.Lower(text);
        text = ContractionPattern.Replace(text, Expand).Replace("'", "", StringComparison.Ordinal);
        var decomposed = text.Normalize(NormalizationForm.FormKD);
        var ascii = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (c < 128 && !Punctuation.Contains(c))
            {
                ascii.Append(c);
            }
        }
        return ascii.ToString();
    }

    /// <summary>TorchServe's expand_match: the match's first character, then the expansion after its first.</summary>
    private static string Expand(Match match)
    {
        var value = match.Value;
        // Python's IGNORECASE also matches a few characters outside this map's keys (dotless i,
        // long s); TorchServe then fails on None. Such a match is left as written.
        var expansion = Expansions.GetValueOrDefault(value) ?? Expansions.GetValueOrDefault(PythonText.Lower(value));
        return expansion is null ? value : value[0] + expansion[1..];
    }
}
