using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Serve.Runtime;

namespace Serve.Tests.Handlers;

/// <summary>
/// Fails as the request bodies say: "reject..." is refused by the per-request preprocess,
/// "throw:&lt;stage&gt;" throws in that stage, "cancel" throws OperationCanceledException from inference.
/// </summary>
[Handler("errors-stages")]
public partial class ThrowingHandler
{
    public static readonly Exception PreprocessFailure = new FormatException("preprocess broke");
    public static readonly Exception InferenceFailure = new InvalidOperationException("inference broke");
    public static readonly Exception PostprocessFailure = new ArgumentException("postprocess broke");

    public List<IReadOnlyList<string>> InferenceInputs { get; } = [];

    [Initialize]
    public static void Load(HandlerContext context)
    {
        if (context.ModelName.StartsWith("throw-initialize", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("initialize broke");
        }
    }

    [Preprocess]
    public static string Decode(InferenceRequest request, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        if (text == "cancel:preprocess")
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
        return text switch
        {
            _ when text.StartsWith("reject", StringComparison.Ordinal) => throw new InvalidRequestException($"'{text}' is not accepted"),
            "throw:preprocess" => throw PreprocessFailure,
            _ => text,
        };
    }

    [Inference]
    public string[] Run(IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        InferenceInputs.Add(inputs.ToArray());
        if (inputs.Contains("cancel"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new OperationCanceledException("cancelled by the handler");
        }
        if (inputs.Contains("throw:inference"))
        {
            throw InferenceFailure;
        }
        if (inputs.Contains("invalid:inference"))
        {
            throw new InvalidRequestException("the batch as a whole is unusable");
        }
        return inputs.Select(input => input.ToUpperInvariant()).ToArray();
    }

    [Postprocess]
    public static string[] Shape(string[] outputs) =>
        outputs.Contains("THROW:POSTPROCESS") ? throw PostprocessFailure : outputs;
}
