using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Onnx.Tests;

/// <summary>
/// Runs through IOBinding with reused buffers give exactly (bit for bit) what unbound runs give,
/// on real models: batch-major ones whose outputs are bound, a segmenter whose output dimensions
/// are unnamed (learned), text models whose batch is named on a later input, and a detector whose
/// outputs depend on the image; buffers are reused, never shared between runs, and never
/// overwritten while an output over them is held.
/// </summary>
public class IoBindingTests
{
    private static string Vision(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "vision", file);

    private static string Text(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "text", file);

    private static OnnxModel Load(string path, bool ioBinding, string config = "") =>
        (OnnxModel)Fixtures.ContextFor(path, $"{config}\nonnx:\n  ioBinding: {(ioBinding ? "true" : "false")}\n").LoadModel();

    /// <summary>Seeded inputs for one batch of <paramref name="rows"/> rows of the model.</summary>
    private static Dictionary<string, Tensor> Inputs(OnnxModel model, int rows, int seed)
    {
        var random = new Random(seed);
        var inputs = new Dictionary<string, Tensor>();
        foreach (var input in model.Inputs)
        {
            long[] shape = [.. input.Shape!.Select((d, i) => d >= 0 ? d : i == 0 ? rows : 5)];
            if (input.Name == "text")
            {
                shape = [rows * 2];
            }
            var length = (int)shape.Aggregate(1L, (a, b) => a * b);
            inputs[input.Name] = input.ElementType switch
            {
                TensorElementType.Float => new Tensor<float>(Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape),
                TensorElementType.Int64 when input.Name == "offsets" => new Tensor<long>(Enumerable.Range(0, rows).Select(i => (long)i * 2).ToArray(), shape),
                TensorElementType.Int64 => new Tensor<long>(Enumerable.Range(0, length).Select(_ => (long)random.Next(2)).ToArray(), shape),
                _ => throw new InvalidOperationException($"No seeded input for {input.ElementType}."),
            };
        }
        return inputs;
    }

    private static async Task<Dictionary<string, Tensor>> Run(OnnxModel model, Dictionary<string, Tensor> inputs) =>
        new(await model.RunAsync(inputs, default));

    private static void AssertIdentical(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.ShapeArray(), actual[name].ShapeArray());
            Assert.True(Bytes(tensor).SequenceEqual(Bytes(actual[name])), $"output '{name}' differs");
        }
    }

    private static byte[] Bytes(Tensor tensor) => tensor switch
    {
        Tensor<float> t => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span).ToArray(),
        Tensor<long> t => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span).ToArray(),
        _ => throw new InvalidOperationException($"No bytes for {tensor.ElementType}."),
    };

    private static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }

    [Theory]
    [InlineData("classifier/classifier.onnx", "vision")]
    [InlineData("segmenter/segmenter.onnx", "vision")]
    [InlineData("bert/model.dynamic.onnx", "text")]
    [InlineData("embedding_bag/model.onnx", "text")]
    public async Task Bound_runs_give_the_unbound_outputs_bit_for_bit(string file, string folder)
    {
        var path = folder == "vision" ? Vision(file) : Text(file);
        using var bound = Load(path, ioBinding: true);
        using var unbound = Load(path, ioBinding: false);
        Assert.StartsWith("IOBinding", bound.Execution, StringComparison.Ordinal);
        Assert.StartsWith("each run allocates", unbound.Execution, StringComparison.Ordinal);

        foreach (var (rows, seed) in new[] { (1, 1), (3, 2), (3, 3), (1, 4) })
        {
            var inputs = Inputs(bound, rows, seed);
            var expected = await Run(unbound, inputs);
            // Twice: the second run reuses the first's buffers (or the shape it learned).
            for (var pass = 0; pass < 2; pass++)
            {
                var actual = await Run(bound, inputs);
                AssertIdentical(expected, actual);
                DisposeAll(actual.Values);
            }
            DisposeAll(expected.Values);
        }
        // Every output here has a shape known before the run: declared, or learned (the segmenter's).
        Assert.True(bound.BufferAllocations > 0, "outputs were bound to host buffers");
        Assert.Equal(0, bound.BoundReruns);
    }

    [Fact]
    public async Task Padded_batches_reuse_their_buffers_from_batch_to_batch()
    {
        using var model = Load(Vision("classifier/classifier.onnx"), ioBinding: true, "batchSize: 4\npreferredBatchSizes: [2]");
        using var reference = Load(Vision("classifier/classifier.onnx"), ioBinding: false, "batchSize: 4\npreferredBatchSizes: [2]");
        Assert.True(model.BufferAllocations > 0, "the warm-up of sizes 2 and 4 runs through the bound buffers");
        var stacked = (IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>)model;
        var unstacked = (IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>)reference;
        var afterFirstPass = 0L;

        // Twice over batches of 1 to 4 requests (padded to 2 or 4): the second pass allocates nothing.
        for (var pass = 0; pass < 2; pass++)
        {
            afterFirstPass = model.BufferAllocations;
            for (var seed = 0; seed < 6; seed++)
            {
                var requests = Enumerable.Range(0, 1 + seed % 4).Select(i => (Tensor<float>)Inputs(model, 1, seed * 10 + i)["input"]).Select(t => new Tensor<float>(t.Memory, [3, 224, 224])).ToList();
                using var expected = await unstacked.RunAsync(requests, default);
                using var actual = await stacked.RunAsync(requests, default);
                Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
                Assert.True(expected.Span.SequenceEqual(actual.Span), $"batch of {requests.Count} differs");
            }
        }

        Assert.Equal(afterFirstPass, model.BufferAllocations);
    }

    [Fact]
    public async Task An_output_held_undisposed_keeps_its_values_while_later_runs_go_on()
    {
        using var model = Load(Vision("classifier/classifier.onnx"), ioBinding: true);
        var first = Inputs(model, 2, 7);
        var held = await Run(model, first);
        var heldValues = Bytes(held["logits"]);

        for (var seed = 8; seed < 12; seed++)
        {
            DisposeAll((await Run(model, Inputs(model, 2, seed))).Values);
        }

        Assert.Equal(heldValues, Bytes(held["logits"]));
        var again = await Run(model, first);
        Assert.Equal(heldValues, Bytes(again["logits"]));
        DisposeAll(held.Values);
        DisposeAll(again.Values);
    }

    [Fact]
    public async Task Concurrent_runs_on_one_shared_model_never_share_a_buffer()
    {
        using var model = Load(Vision("classifier/classifier.onnx"), ioBinding: true);
        using var reference = Load(Vision("classifier/classifier.onnx"), ioBinding: false);
        var cases = Enumerable.Range(0, 4).Select(i => Inputs(model, 1 + i % 2, 100 + i)).ToArray();
        var expected = new List<byte[]>();
        foreach (var inputs in cases)
        {
            var outputs = await Run(reference, inputs);
            expected.Add(Bytes(outputs["logits"]));
            DisposeAll(outputs.Values);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                var outputs = await Run(model, cases[caller]);
                Assert.Equal(expected[caller], Bytes(outputs["logits"]));
                DisposeAll(outputs.Values);
            }
        })));
    }

    [Fact]
    public async Task A_detectors_data_dependent_outputs_are_left_to_onnx_runtime_and_still_match()
    {
        using var bound = Load(Vision("detector/detector.onnx"), ioBinding: true);
        using var unbound = Load(Vision("detector/detector.onnx"), ioBinding: false);
        // Two images of one size with different contents: the number of detections differs.
        var blank = new Dictionary<string, Tensor> { ["images"] = new Tensor<float>(new float[3 * 96 * 128], 3, 96, 128) };
        var random = new Random(5);
        var noisy = new Dictionary<string, Tensor> { ["images"] = new Tensor<float>(Enumerable.Range(0, 3 * 96 * 128).Select(_ => (float)random.NextDouble()).ToArray(), 3, 96, 128) };
        var counts = new List<long>();

        foreach (var inputs in new[] { noisy, blank, noisy, blank })
        {
            var expected = await Run(unbound, inputs);
            var actual = await Run(bound, inputs);
            AssertIdentical(expected, actual);
            counts.Add(expected["boxes"].Shape[0]);
            DisposeAll(expected.Values);
            DisposeAll(actual.Values);
        }

        // The second run bound the shapes the first gave for this input shape, failed ONNX Runtime's
        // check, and ran again unbound: the outputs match all the same.
        Assert.NotEqual(counts[0], counts[1]);
        Assert.Equal(1, bound.BoundReruns);
    }
}
