using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using TorchSharp;

namespace Serve.Torch.Tests;

/// <summary>A handler with its own [Initialize] builds on the same blocks as the default one.</summary>
[Handler("tiny-custom")]
public partial class CustomInitializeHandler
{
    [Initialize]
    public static void Load(HandlerContext context)
    {
        var module = new TinyNet();
        TorchWeights.Load(module, context.SerializedFilePath!);
        module.eval();
        context.Model = new TorchModuleModel(module, context.ModelName, torch.CPU);
    }

    [Preprocess]
    public static Tensor<float> Preprocess(InferenceRequest request) =>
        new(request.Body.Span.ToArray().Chunk(4).Select(b => System.BitConverter.ToSingle(b)).ToArray(), 1, 8, 8);

    [Postprocess]
    public static float[][] Postprocess(Tensor<float> logits)
    {
        using (logits)
        {
            return [.. Enumerable.Range(0, (int)logits.Shape[0]).Select(i => logits.Row(i).ToArray())];
        }
    }
}

public class CustomInitializeTests
{
    [Fact]
    public async Task An_own_initialize_loads_safetensors_weights_with_TorchWeights_and_the_default_inference_runs_them()
    {
        var context = Fixtures.Context("tiny.safetensors", modelName: "tiny-custom");
        IHandler handler = new CustomInitializeHandler();
        var reference = Fixtures.Tiny;
        var batch = Enumerable.Range(0, 5)
            .Select(i => new InferenceRequest(reference.Input.Skip(i * 64).Take(64).SelectMany(System.BitConverter.GetBytes).ToArray()))
            .ToList();

        await handler.InitializeAsync(context, CancellationToken.None);
        var results = await handler.HandleAsync(batch, context, CancellationToken.None);

        Assert.IsType<TorchModuleModel>(context.Model);
        var logits = results.Select(r => System.Text.Json.JsonSerializer.Deserialize<float[]>(r.Body.Span)!).SelectMany(row => row).ToArray();
        Assert.InRange(Fixtures.MaxAbsDifference(logits, reference.Output), 0f, ModelFormatTests.Tolerance);
    }
}
