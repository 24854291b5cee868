using System.Collections.Generic;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>A TorchScript model run for all its outputs, as the object detector runs it (its tuple: tests/Serve.Handlers.Tests/DetectorTests).</summary>
public class AllOutputsTests
{
    [Fact]
    public async Task A_model_returning_one_tensor_gives_a_list_of_that_tensor()
    {
        using var model = (TorchScriptModel)Fixtures.Context("tiny.torchscript.pt").LoadModel();
        var outputs = await ((IModel<Tensor<float>, IReadOnlyList<Tensor>>)model).RunAsync(Fixtures.Tiny.InputTensor(), default);

        using var logits = Assert.IsType<Tensor<float>>(Assert.Single(outputs));
        Assert.Equal(Fixtures.Tiny.OutputShape, logits.ShapeArray());
        Assert.InRange(Fixtures.MaxAbsDifference(logits.Span, Fixtures.Tiny.Output), 0f, ModelFormatTests.Tolerance);
    }
}
