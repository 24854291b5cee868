using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Serve.Runtime;

namespace Serve.Server.Tests.TestHandlers;

/// <summary>
/// The handler the protocol parity tests serve: refuses an input containing "bad", fails its
/// inference on "boom", answers 600 bytes for "big", and otherwise repeats its input as text.
/// </summary>
[Handler("parity")]
public partial class ParityHandler
{
    public const int BigAnswer = 600;

    [Preprocess]
    public static string Decode(InferenceRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        return text.Contains("bad", StringComparison.Ordinal) ? throw new InvalidRequestException($"'{text}' is refused") : text;
    }

    [Inference]
    public static string[] Run(IReadOnlyList<string> inputs) =>
        inputs.Select(input => input.Contains("boom", StringComparison.Ordinal) ? throw new InvalidOperationException("inference broke")
            : input.Contains("big", StringComparison.Ordinal) ? new string('x', BigAnswer) : input).ToArray();

    [Postprocess]
    public static string[] Shape(string[] outputs) => outputs;
}
