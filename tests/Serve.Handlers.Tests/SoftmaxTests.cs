using System;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Serve.Handlers.Tests;

/// <summary>Softmax and exp against torch 1.13's float32 bits (fixtures/make_softmax.py).</summary>
public class SoftmaxTests
{
    private static JsonElement Torch { get; } =
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "softmax", "torch.json"))).RootElement;

    private static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];

    [Fact]
    public void Exp_gives_the_bits_of_torch_exp()
    {
        var x = Floats(Torch.GetProperty("exp").GetProperty("x"));
        var expected = Floats(Torch.GetProperty("exp").GetProperty("exp"));
        var differ = Enumerable.Range(0, x.Length).Where(i => PyTorchMath.Exp(x[i]) != expected[i]).ToArray();
        Assert.True(differ.Length == 0, $"{differ.Length} of {x.Length} differ, e.g. exp({(differ.Length > 0 ? x[differ[0]] : 0)}) = {(differ.Length > 0 ? PyTorchMath.Exp(x[differ[0]]) : 0)} against {(differ.Length > 0 ? expected[differ[0]] : 0)}");
    }

    [Fact]
    public void Softmax_gives_the_bits_of_torch_softmax_on_1_to_1001_classes()
    {
        var rows = Torch.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(16, rows.Length);
        foreach (var row in rows)
        {
            var logits = Floats(row.GetProperty("logits"));
            Assert.Equal(Floats(row.GetProperty("softmax")), Classification.Softmax(logits));
        }
    }

    [Fact]
    public void A_plain_sequential_float_sum_would_not()
    {
        // The test above can fail: summing the 1,000 classes left to right changes bits.
        var logits = Floats(Torch.GetProperty("rows").EnumerateArray().First(r => r.GetProperty("logits").GetArrayLength() == 1000).GetProperty("logits"));
        var max = logits.Max();
        var exps = logits.Select(l => PyTorchMath.Exp(l - max)).ToArray();
        var sequential = 0f;
        foreach (var e in exps)
        {
            sequential += e;
        }
        Assert.NotEqual(sequential, PyTorchMath.VectorSum(exps));
    }
}
