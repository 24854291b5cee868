using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;
using Serve.Tests;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace Serve.Onnx.Tests;

/// <summary>ONNX models with any named inputs and outputs, giving PyTorch's outputs.</summary>
public class OnnxModelTests
{
    [Fact]
    public async Task The_onnx_export_gives_pytorchs_outputs()
    {
        var context = Fixtures.Context("tiny.onnx");
        using var model = (OnnxModel)context.LoadModel();

        using var output = await model.RunAsync(Fixtures.TinyInput(), default);

        Assert.Equal(Fixtures.Tiny.OutputShape, output.ShapeArray());
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
        Assert.Equal((Device.Cpu, "no CUDA or MPS device"), (context.Device, context.DeviceReason));
    }

    [Fact]
    public async Task Per_request_tensors_and_dense_tensors_give_the_same_outputs()
    {
        using var model = (OnnxModel)Fixtures.Context("tiny.onnx").LoadModel();
        var rows = Enumerable.Range(0, 5).Select(i => Fixtures.Tiny.Input.AsMemory(i * 64, 64)).ToArray();

        using var stacked = await model.RunAsync(rows.Select(r => new Tensor<float>(r, 1, 8, 8)).ToList(), default);
        var dense = await model.RunAsync(rows.Select(r => new DenseTensor(r, [1, 8, 8])).ToList(), default);

        Assert.InRange(Fixtures.MaxAbsDifference(stacked.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
        Assert.InRange(Fixtures.MaxAbsDifference(dense.Buffer.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
        Assert.Equal([5, 3], dense.Dimensions.ToArray());
    }

    [Fact]
    public async Task Named_inputs_and_outputs_of_every_onnx_element_type_run()
    {
        using var model = (OnnxModel)Fixtures.Context("io_types.onnx").LoadModel();
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = new Tensor<float>(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3),
            ["h"] = new Tensor<Half>(new[] { (Half)0.5, (Half)1, (Half)1.5, (Half)2, (Half)2.5, (Half)3 }, 2, 3),
            ["i"] = new Tensor<long>(new long[] { 41, -1 }, 2),
            ["b"] = new Tensor<bool>(new[] { true, false }, 2),
            ["s"] = new Tensor<string>(new[] { "héllo", "" }, 2),
        };

        var outputs = await model.RunAsync(inputs, default);

        Assert.Equal(["b_not", "h_doubled", "i_plus_1", "s_same", "x_times_2"], outputs.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([2f, 4, 6, 8, 10, 12], ((Tensor<float>)outputs["x_times_2"]).Span.ToArray());
        Assert.Equal([(Half)1, (Half)2, (Half)3, (Half)4, (Half)5, (Half)6], ((Tensor<Half>)outputs["h_doubled"]).Span.ToArray());
        Assert.Equal([42L, 0], ((Tensor<long>)outputs["i_plus_1"]).Span.ToArray());
        Assert.Equal([false, true], ((Tensor<bool>)outputs["b_not"]).Span.ToArray());
        Assert.Equal(["héllo", ""], ((Tensor<string>)outputs["s_same"]).Span.ToArray());
        Assert.Equal([2L, 3], outputs["h_doubled"].ShapeArray());
        foreach (var output in outputs.Values)
        {
            output.Dispose();
        }
    }

    [Fact]
    public async Task Missing_unknown_mistyped_and_misshapen_inputs_are_named()
    {
        using var model = (OnnxModel)Fixtures.Context("io_types.onnx").LoadModel();
        Tensor Floats(params long[] shape) => new Tensor<float>(new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
        var good = new Dictionary<string, Tensor>
        {
            ["x"] = Floats(1, 3), ["h"] = new Tensor<Half>(new Half[3], 1, 3), ["i"] = new Tensor<long>(new long[1], 1),
            ["b"] = new Tensor<bool>(new bool[1], 1), ["s"] = new Tensor<string>(new[] { "a" }, 1),
        };

        async Task<string> Error(Action<Dictionary<string, Tensor>> change)
        {
            var inputs = new Dictionary<string, Tensor>(good);
            change(inputs);
            return (await Assert.ThrowsAsync<ArgumentException>(async () => await model.RunAsync(inputs, default))).Message;
        }

        Assert.Equal("Model 'tiny' takes inputs x, h, i, b, s; missing: s; unknown: t.", await Error(i => { i.Remove("s"); i["t"] = Floats(1); }));
        Assert.Equal("Model 'tiny' input 'x' takes Float, not Int64.", await Error(i => i["x"] = new Tensor<long>(new long[3], 1, 3)));
        Assert.Equal("Model 'tiny' input 'x' takes shape [-1, 3] (-1: any size), but got [1, 4].", await Error(i => i["x"] = Floats(1, 4)));
        Assert.Contains("has 5 inputs (x, h, i, b, s); run it with named tensors",
            (await Assert.ThrowsAsync<InvalidOperationException>(async () => await model.RunAsync(new Tensor<float>(new float[3], 1, 3), default))).Message);
    }

    [Fact]
    public unsafe void An_input_is_handed_to_onnx_runtime_in_place_and_an_output_read_in_place()
    {
        var data = new float[] { 1, 2, 3 };
        fixed (float* address = data)
        {
            using var value = OnnxTensors.ToOrtValue(new Tensor<float>(data, 3), out var pin, "sharing");
            using (pin)
            {
                fixed (byte* ort = value.GetTensorMutableRawData())
                {
                    Assert.Equal((IntPtr)address, (IntPtr)ort);
                }
            }
        }

        var native = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [2]);
        IntPtr nativeAddress;
        fixed (byte* ort = native.GetTensorMutableRawData())
        {
            nativeAddress = (IntPtr)ort;
        }
        using var output = (Tensor<float>)OnnxTensors.FromOrtValue(native, "y", "sharing");
        fixed (float* span = output.Span)
        {
            Assert.Equal(nativeAddress, (IntPtr)span);
        }
    }

    [Fact]
    public async Task A_batch_tensor_costs_no_copy_and_per_request_tensors_one_each()
    {
        var context = Fixtures.Context("tiny.onnx", modelName: "tiny-copies");
        using var model = (OnnxModel)context.LoadModel();
        var rows = Enumerable.Range(0, 5).Select(i => new Tensor<float>(Fixtures.Tiny.Input.AsMemory(i * 64, 64), 1, 8, 8)).ToList();

        var batch = await CopyCounter.Count("tiny-copies", async () => (await model.RunAsync(Fixtures.TinyInput(), default)).Dispose());
        var perRequest = await CopyCounter.Count("tiny-copies", async () => (await model.RunAsync(rows, default)).Dispose());

        Assert.Empty(batch);
        Assert.Equal(["stack", "stack", "stack", "stack", "stack"], perRequest);
    }
}
