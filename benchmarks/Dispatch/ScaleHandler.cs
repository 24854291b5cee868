using System.Collections.Generic;
using Serve;
using Serve.Runtime;

namespace Benchmarks.Dispatch;

/// <summary>Three stages that cost next to nothing, so that what is measured is the dispatch around them.</summary>
[Handler("scale")]
public partial class ScaleHandler
{
    [Preprocess]
    public static float Preprocess(InferenceRequest request) => request.Body.Span[0];

    [Inference]
    public static float[] Run(IReadOnlyList<float> values)
    {
        var scaled = new float[values.Count];
        for (var i = 0; i < scaled.Length; i++)
        {
            scaled[i] = values[i] * 2;
        }
        return scaled;
    }

    [Postprocess]
    public static Scaled[] Postprocess(float[] values)
    {
        var results = new Scaled[values.Length];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = new Scaled(values[i]);
        }
        return results;
    }
}

/// <summary>One request's answer: <c>{"value": 84}</c>.</summary>
public sealed record Scaled(float Value);
