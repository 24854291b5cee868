using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Serve.Runtime;

namespace Serve.Server.Tests.TestHandlers;

/// <summary>
/// The handler the HTTP tests serve as model "echo": refuses bodies starting with "bad", and
/// otherwise answers with the body's text, its length and what came with it.
/// </summary>
[Handler("echo")]
public partial class EchoHandler
{
    [Preprocess]
    public static EchoReply Decode(InferenceRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        if (text.StartsWith("bad", StringComparison.Ordinal))
        {
            throw new InvalidRequestException($"'{text}' is not something echo repeats");
        }
        return new EchoReply(text, request.Body.Length, request.ContentType, request.QueryParameters.GetValueOrDefault("tag"));
    }

    [Inference]
    public static IReadOnlyList<EchoReply> Run(IReadOnlyList<EchoReply> inputs) => inputs;

    [Postprocess]
    public static EchoReply[] Shape(IReadOnlyList<EchoReply> outputs) => outputs.ToArray();
}

public sealed record EchoReply(string Text, int Length, string? ContentType, string? Tag);
