using System.Linq;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Onnx.Tests;

/// <summary>Preferred batch sizes on a real session: batches padded to the next size give the unpadded answers, each size warmed up at load.</summary>
public class BatchShapeTests
{
    /// <summary>Request i's tensor: row i of the reference input (1 x 8 x 8).</summary>
    private static Tensor<float>[] Requests(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Tensor<float>(Fixtures.Tiny.Input.Skip(i * 64).Take(64).ToArray(), [1, 8, 8]))];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public async Task A_padded_batch_answers_each_request_as_the_unpadded_model_does(int count)
    {
        var logger = new ListLogger();
        using var model = (OnnxModel)Fixtures.Context("tiny.onnx", "batchSize: 8\npreferredBatchSizes: [2, 4]", logger: logger).LoadModel();

        using var output = await ((IModel<System.Collections.Generic.IReadOnlyList<Tensor<float>>, Tensor<float>>)model).RunAsync(Requests(count), default);

        Assert.Equal([2, 4, 8], model.BatchShapes.Sizes);
        Assert.Equal(new long[] { count, 3 }, output.ShapeArray());
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output.Take(count * 3).ToArray()), 0f, Fixtures.Tolerance);
        Assert.Contains(logger.Entries, e => e.Message == "Model tiny: preferred batch sizes [2, 4, 8] (preferredBatchSizes in model-config, and batchSize); warmed up batch sizes [2, 4, 8]");
    }

    [Fact]
    public void On_the_CPU_without_preferred_sizes_batches_are_not_padded_or_warmed_up()
    {
        var logger = new ListLogger();
        using var model = (OnnxModel)Fixtures.Context("tiny.onnx", "batchSize: 8", logger: logger).LoadModel();

        Assert.Empty(model.BatchShapes.Sizes);
        Assert.Contains(logger.Entries, e => e.Message.StartsWith("Model tiny: no preferred batch sizes: batches run at the size they have; no warm-up", System.StringComparison.Ordinal));
    }
}
