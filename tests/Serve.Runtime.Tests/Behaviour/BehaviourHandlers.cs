using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Behaviour;

/// <summary>Records each stage call, with async stages of every shape.</summary>
[Handler("behaviour-recording")]
public partial class RecordingHandler
{
    public List<string> Calls { get; } = [];

    public HandlerContext? SeenContext { get; private set; }

    public CancellationToken SeenToken { get; private set; }

    [Initialize]
    public async Task Load(HandlerContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        SeenContext = context;
        Calls.Add("initialize");
    }

    [Preprocess]
    public ValueTask<string> Decode(InferenceRequest request, CancellationToken cancellationToken)
    {
        SeenToken = cancellationToken;
        var text = Encoding.UTF8.GetString(request.Body.Span);
        Calls.Add("preprocess " + text);
        return ValueTask.FromResult(text);
    }

    [Inference]
    public async Task<string[]> Run(IReadOnlyList<string> inputs, HandlerContext context)
    {
        await Task.Delay(1);
        Calls.Add("inference " + string.Join(",", inputs));
        var outputs = new string[inputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = inputs[i].ToUpperInvariant();
        }
        return outputs;
    }

    [Postprocess]
    public List<Echo> Shape(string[] outputs)
    {
        Calls.Add("postprocess " + outputs.Length);
        var results = new List<Echo>();
        foreach (var output in outputs)
        {
            results.Add(new Echo(output, output.Length));
        }
        return results;
    }

    [Explain]
    public string[] Why(IReadOnlyList<string> inputs)
    {
        Calls.Add("explain " + inputs.Count);
        var reasons = new string[inputs.Count];
        for (var i = 0; i < reasons.Length; i++)
        {
            reasons[i] = "because " + inputs[i];
        }
        return reasons;
    }
}

public sealed record Echo(string Text, int Length);

/// <summary>Fails in the stage named by the request body; refuses "bad" requests one by one.</summary>
[Handler("behaviour-failing")]
public partial class FailingHandler
{
    public int InferenceCalls { get; private set; }

    [Preprocess]
    public static string Decode(InferenceRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        return text switch
        {
            "bad" => throw new InvalidRequestException("'bad' is not a word this model reads"),
            "fail preprocess" => throw new FormatException("preprocess broke"),
            _ => text,
        };
    }

    [Inference]
    public string[] Run(IReadOnlyList<string> inputs)
    {
        InferenceCalls++;
        if (inputs.Contains("fail inference"))
        {
            throw new InvalidOperationException("inference broke");
        }
        return [.. inputs];
    }

    [Postprocess]
    public static string[] Shape(string[] outputs) =>
        Array.IndexOf(outputs, "wrong count") >= 0 ? [.. outputs, "extra"] : outputs;
}

/// <summary>A handler whose stages take measurable time, for the metrics test.</summary>
[Handler("behaviour-slow")]
public partial class SlowHandler
{
    [Preprocess]
    public static int Count(IReadOnlyList<InferenceRequest> batch) => batch.Count;

    [Inference]
    public static int[] Run(int count)
    {
        Thread.Sleep(30);
        return new int[count];
    }
}

internal static class ListExtensions
{
    public static bool Contains(this IReadOnlyList<string> items, string value)
    {
        foreach (var item in items)
        {
            if (item == value)
            {
                return true;
            }
        }
        return false;
    }
}
