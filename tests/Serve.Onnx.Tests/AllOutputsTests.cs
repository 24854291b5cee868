using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Serve.Runtime;
using Serve.Tests;

namespace Serve.Onnx.Tests;

/// <summary>A one-input model run for all its outputs, as the object detector runs it.</summary>
public class AllOutputsTests
{
    [Fact]
    public async Task Every_output_comes_back_in_the_models_order()
    {
        using var model = (OnnxModel)Fixtures.Context("tiny.onnx").LoadModel();
        var outputs = await ((IModel<Tensor<float>, IReadOnlyList<Tensor>>)model).RunAsync(Fixtures.TinyInput(), default);

        var logits = Assert.IsType<Tensor<float>>(Assert.Single(outputs));
        Assert.Equal(Fixtures.Tiny.OutputShape, logits.ShapeArray());
        Assert.InRange(Fixtures.MaxAbsDifference(logits.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
        logits.Dispose();
    }

    [Fact]
    public async Task A_model_of_several_inputs_is_refused_naming_them()
    {
        using var model = (OnnxModel)Fixtures.Context("io_types.onnx").LoadModel();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ((IModel<Tensor<float>, IReadOnlyList<Tensor>>)model).RunAsync(Fixtures.TinyInput(), default).AsTask());
        Assert.Contains("inputs", error.Message);
        Assert.Contains("run it with named tensors", error.Message);
    }
}
