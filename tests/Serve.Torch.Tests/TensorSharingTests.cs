using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Serve.Runtime;
using Serve.Tests;
using TorchSharp;

namespace Serve.Torch.Tests;

/// <summary>Serve's tensors share memory with TorchSharp's, and the copies that remain are counted.</summary>
public class TensorSharingTests
{
    [Fact]
    public unsafe void An_input_tensor_is_wrapped_in_place()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        var tensor = new Tensor<float>(data, 2, 3);

        using var wrapped = TorchTensors.ToTorch(tensor, "sharing");
        data[5] = 60;

        fixed (float* address = data)
        {
            Assert.Equal((IntPtr)address, TorchTensors.DataPointer(wrapped));
        }
        Assert.Equal(60f, wrapped[1, 2].ToSingle());
    }

    [Fact]
    public async Task A_slice_of_an_array_is_copied_once_and_the_copy_counted()
    {
        var data = new float[] { 0, 1, 2, 3, 4, 5, 6 };

        var copies = await CopyCounter.Count("slice", () =>
        {
            using var wrapped = TorchTensors.ToTorch(new Tensor<float>(data.AsMemory(1), 2, 3), "slice");
            Assert.Equal(6f, wrapped[1, 2].ToSingle());
            return Task.CompletedTask;
        });

        Assert.Equal(["not a whole array"], copies);
    }

    [Fact]
    public void An_output_tensor_is_read_in_place_and_disposed_with_the_serve_tensor()
    {
        var native = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        var address = TorchTensors.DataPointer(native);

        var output = TorchTensors.FromTorch(native, "sharing");
        unsafe
        {
            fixed (float* span = output.Span)
            {
                Assert.Equal(address, (IntPtr)span);
            }
        }
        Assert.Equal([0f, 1, 2, 3, 4, 5], output.Span.ToArray());

        output.Dispose();
        Assert.True(native.IsInvalid);
    }

    [Fact]
    public async Task A_batch_tensor_is_not_copied_and_per_request_tensors_are_copied_once_each_to_stack()
    {
        var context = Fixtures.Context("tiny.torchscript.pt", modelName: "tiny-copies");
        context = new HandlerContext(context.Manifest, context.ModelDirectory)
        {
            ModelLoaders = [new TorchModelLoader(new TorchOptions())],
        };
        using var model = (TorchModel)context.LoadModel();
        var reference = Fixtures.Tiny;
        var perRequest = new List<Tensor<float>>();
        for (var i = 0; i < reference.InputShape[0]; i++)
        {
            perRequest.Add(new Tensor<float>(reference.Input.AsMemory(i * 64, 64), 1, 8, 8));
        }

        var batchCopies = await CopyCounter.Count("tiny-copies", async () => (await model.RunAsync(reference.InputTensor(), default)).Dispose());
        var stackedCopies = await CopyCounter.Count("tiny-copies", async () =>
        {
            using var output = await model.RunAsync(perRequest, default);
            Assert.InRange(Fixtures.MaxAbsDifference(output.Span, reference.Output), 0f, ModelFormatTests.Tolerance);
        });

        Assert.Empty(batchCopies);
        Assert.Equal(["stack", "stack", "stack", "stack", "stack"], stackedCopies);
    }
}
