using System;
using Serve;
using Serve.Runtime;

namespace Benchmarks.EngineBench;

/// <summary>
/// A handler that feeds the model a zero image of the shape model-config's handler.side gives
/// (default 224): the scale measurement is about the engine's memory, not decoding.
/// </summary>
[Handler("zeros")]
public partial class ZerosHandler
{
    [Preprocess]
    public static Tensor<float> Preprocess(InferenceRequest request) =>
        new(new float[3 * Side * Side], [3, Side, Side]);

    [Postprocess]
    public static int[] Postprocess(Tensor<float> logits) => new int[logits.Shape[0]];

    public static int Side { get; set; } = 224;
}
