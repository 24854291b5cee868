using System;
using System.IO;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>Which batch sizes a model runs at, per device and model-config, and the stacking that pads to them.</summary>
public class BatchShapesTests
{
    private static ModelConfig Config(string yaml) => ModelConfig.Parse(new StringReader(yaml), "model-config.yaml");

    private static readonly Device Gpu = new(DeviceType.Cuda, 0);

    [Fact]
    public void On_the_CPU_batches_run_at_the_size_they_have()
    {
        var shapes = BatchShapes.Decide(Config("batchSize: 32"), Device.Cpu);

        Assert.Empty(shapes.Sizes);
        Assert.Equal(5, shapes.Pad(5));
    }

    [Fact]
    public void On_a_GPU_batches_are_padded_to_powers_of_two_up_to_the_batch_size()
    {
        var shapes = BatchShapes.Decide(Config("batchSize: 24"), Gpu);

        Assert.Equal([1, 2, 4, 8, 16, 24], shapes.Sizes);
        Assert.Equal((1, 4, 16, 24, 24), (shapes.Pad(1), shapes.Pad(3), shapes.Pad(9), shapes.Pad(17), shapes.Pad(24)));
        Assert.Contains("on cuda:0 each new shape costs an algorithm search", shapes.Reason);
    }

    [Fact]
    public void A_batch_size_of_one_has_one_shape_anywhere()
    {
        Assert.Empty(BatchShapes.Decide(Config("batchSize: 1"), Gpu).Sizes);
    }

    [Fact]
    public void Model_config_chooses_the_sizes_on_any_device_and_batch_size_is_always_one()
    {
        var config = Config("batchSize: 16\npreferredBatchSizes: [8, 4, 4]");

        Assert.Equal([4, 8, 16], BatchShapes.Decide(config, Device.Cpu).Sizes);
        Assert.Equal([4, 8, 16], BatchShapes.Decide(config, Gpu).Sizes);
        // A registration that lowers batchSize drops the sizes above it.
        Assert.Equal([4, 6], BatchShapes.Decide(config with { BatchSize = 6 }, Gpu).Sizes);
    }

    [Theory]
    [InlineData("batchSize: 4\npreferredBatchSizes: [2, 8]", "preferredBatchSizes holds 8, more than batchSize (4)")]
    [InlineData("batchSize: 4\npreferredBatchSizes: [0]", "'preferredBatchSizes' must be at least 1, not 0.")]
    [InlineData("batchSize: 4\npreferredBatchSizes: 2", "'preferredBatchSizes' must be a list of integers")]
    public void Bad_preferred_sizes_are_refused_with_the_reason(string yaml, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Config(yaml));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Stacking_pads_with_zero_rows_and_taking_rows_gives_back_the_requests_over_the_same_memory()
    {
        Tensor<float>[] items = [new(new[] { 1f, 2f }, 2), new(new[] { 3f, 4f }, 2)];

        var batch = TensorBatch.Stack(items, "m", "test", size: 4);
        var rows = TensorBatch.TakeRows(batch, 2);

        Assert.Equal(new long[] { 4, 2 }, batch.ShapeArray());
        Assert.Equal([1f, 2f, 3f, 4f, 0f, 0f, 0f, 0f], batch.Span.ToArray());
        Assert.Equal(new long[] { 2, 2 }, rows.ShapeArray());
        Assert.Equal([1f, 2f, 3f, 4f], rows.Span.ToArray());
        Assert.Same(batch, TensorBatch.TakeRows(batch, 4));
        Assert.Throws<ArgumentException>(() => TensorBatch.Stack(items, "m", "test", size: 1));
        Assert.Throws<ArgumentException>(() => TensorBatch.TakeRows(batch, 5));
    }

    /// <summary>A stand-in model: per request, the sum of its values and its length, one row each.</summary>
    private static Tensor<float> SumAndLength(System.Collections.Generic.IReadOnlyList<Tensor<float>> batch)
    {
        var output = new float[batch.Count * 2];
        for (var i = 0; i < batch.Count; i++)
        {
            var values = batch[i].Span;
            var sum = 0f;
            foreach (var value in values)
            {
                sum += value;
            }
            (output[2 * i], output[2 * i + 1]) = (sum, values.Length);
        }
        return new Tensor<float>(output, batch.Count, 2);
    }

    [Fact]
    public void Tensors_of_different_shapes_run_as_one_batch_per_shape_with_the_rows_back_in_request_order()
    {
        var runs = new System.Collections.Generic.List<int>();
        Tensor<float>[] items = [new(new[] { 1f, 2f }, 2), new(new[] { 3f, 4f, 5f }, 3), new(new[] { 6f, 7f }, 2), new(new[] { 8f }, 1)];

        using var output = TensorBatch.RunByShape(items, batch => { runs.Add(batch.Count); return SumAndLength(batch); }, "m", "test");

        Assert.Equal([2, 1, 1], runs); // shapes in order of first appearance: [2] twice, [3], [1]
        Assert.Equal(new long[] { 4, 2 }, output.ShapeArray());
        Assert.Equal([3f, 2f, 12f, 3f, 13f, 2f, 8f, 1f], output.Span.ToArray());
    }

    [Fact]
    public void Outputs_that_differ_in_row_shape_or_lack_a_row_per_request_are_refused_naming_the_model()
    {
        Tensor<float>[] items = [new(new[] { 1f, 2f }, 2), new(new[] { 3f, 4f, 5f }, 3)];

        // A row as long as the request's tensor: a map at each image's size.
        var rows = Assert.Throws<InvalidOperationException>(() => TensorBatch.RunByShape(items,
            batch => new Tensor<float>(new float[batch.Count * batch[0].Length], batch.Count, batch[0].Length), "m", "test"));
        var missing = Assert.Throws<InvalidOperationException>(() => TensorBatch.RunByShape(items, _ => new Tensor<float>(new float[4], 2, 2), "m", "test"));

        Assert.Contains("Model 'm' answered requests of shapes [2] and [3] with rows of [2] and [3], which one batch output cannot hold", rows.Message);
        Assert.Contains("returned [2, 2] for a batch of 1", missing.Message);
    }
}
