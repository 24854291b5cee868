using System.Collections.Generic;
using System.Text;
using Serve;
using Serve.Runtime;

namespace Samples.TextHandlers;

/// <summary>Answers each request's text in upper case.</summary>
[Handler("upper")]
public partial class UpperHandler
{
    /// <summary>The request's body as text.</summary>
    [Preprocess]
    public static string Decode(InferenceRequest request) => Encoding.UTF8.GetString(request.Body.Span);

    /// <summary>The texts in upper case, with their length.</summary>
    [Inference]
    public static TextAnswer[] Run(IReadOnlyList<string> texts)
    {
        var answers = new TextAnswer[texts.Count];
        for (var i = 0; i < answers.Length; i++)
        {
            answers[i] = new TextAnswer(texts[i].ToUpperInvariant(), texts[i].Length);
        }
        return answers;
    }
}

/// <summary>What <see cref="UpperHandler"/> answers.</summary>
/// <param name="Text">The text in upper case.</param>
/// <param name="Length">The text's length in UTF-16 code units.</param>
public sealed record TextAnswer(string Text, int Length);
