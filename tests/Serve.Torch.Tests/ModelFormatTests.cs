using System.IO;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>The same model as TorchScript, state_dict and safetensors gives PyTorch's outputs.</summary>
public class ModelFormatTests
{
    public const float Tolerance = 1e-4f;

    [Theory]
    [InlineData("tiny.torchscript.pt", "TorchScriptModel")]
    [InlineData("tiny.state_dict.pt", "TorchModuleModel")]
    [InlineData("tiny.safetensors", "TorchModuleModel")]
    public async Task Each_format_gives_pytorchs_outputs(string fixture, string modelType)
    {
        var context = Fixtures.Context(fixture);
        using var model = context.LoadModel();
        var torchModel = Assert.IsAssignableFrom<TorchModel>(model);

        using var output = await torchModel.RunAsync(Fixtures.Tiny.InputTensor(), default);

        Assert.Equal(modelType, model.GetType().Name);
        Assert.Equal(Fixtures.Tiny.OutputShape, output.ShapeArray());
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Tolerance);
        Assert.Equal(Device.Cpu, context.Device);
        Assert.Equal("no CUDA or MPS device", context.DeviceReason);
    }

    [Theory]
    [InlineData("tiny.torchscript.pt", "model.bin", TorchFileFormat.TorchScript)]
    [InlineData("tiny.state_dict.pt", "model.pth", TorchFileFormat.StateDict)]
    [InlineData("tiny.state_dict.pt", "weights.safetensors", TorchFileFormat.StateDict)]
    [InlineData("tiny.safetensors", "model.pt", TorchFileFormat.Safetensors)]
    [InlineData("tiny.onnx", "model.pt", TorchFileFormat.Unknown)]
    public void The_format_is_told_by_content_not_extension(string fixture, string fileName, TorchFileFormat format)
    {
        var context = Fixtures.Context(fixture, fileName);

        Assert.Equal(format, TorchFileFormats.Detect(context.SerializedFilePath!));
    }

    [Fact]
    public async Task A_state_dict_named_like_torchscript_still_loads_as_weights()
    {
        using var model = Fixtures.Context("tiny.state_dict.pt", "model.pt").LoadModel();

        using var output = await ((TorchModel)model).RunAsync(Fixtures.Tiny.InputTensor(), default);

        Assert.IsType<TorchModuleModel>(model);
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Tolerance);
    }

    [Fact]
    public void Weights_without_a_registered_module_are_refused_with_how_to_register_one()
    {
        var error = Assert.Throws<ModelLoadException>(() => Fixtures.Context("tiny.safetensors", modelName: "other").LoadModel());

        Assert.Contains("Model 'other': 'tiny.safetensors' holds weights only (Safetensors), and no C# module is registered", error.Message);
        Assert.Contains("torch.AddModule(\"other\"", error.Message);
    }

    [Theory]
    [InlineData("tiny.state_dict.pt")]
    [InlineData("tiny.safetensors")]
    public void Missing_unexpected_and_misshapen_weights_are_reported_by_name(string fixture)
    {
        var path = Fixtures.File(fixture);

        var error = Assert.Throws<ModelLoadException>(() => TorchWeights.Load(new RenamedNet(), path));

        Assert.Contains("missing keys: hidden.bias, hidden.weight;", error.Message);
        Assert.Contains("unexpected keys: fc1.bias, fc1.weight, norm.bias, norm.num_batches_tracked, norm.running_mean, norm.running_var, norm.weight;", error.Message);
        Assert.Contains("shape mismatches: fc2.bias is [3] in the file but [5] in the module; fc2.weight is [3, 16] in the file but [5, 16] in the module.", error.Message);
    }

    [Fact]
    public void A_file_of_no_known_format_is_not_claimed()
    {
        var context = Fixtures.Context("tiny.reference.json", "model.pt");

        Assert.False(new TorchModelLoader().CanLoad(context.SerializedFilePath!));
        Assert.Contains("no backend can load 'model.pt'", Assert.Throws<ModelLoadException>(() => context.LoadModel()).Message);
    }

    [Fact]
    public void A_pre_1_6_torch_save_file_is_refused_with_how_to_re_save_it()
    {
        var directory = Fixtures.NewDirectory();
        File.WriteAllBytes(Path.Combine(directory, "old.pt"), [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
        var context = new HandlerContext(new ModelManifest { ModelName = "old", SerializedFile = "old.pt" }, directory)
        {
            ModelLoaders = [new TorchModelLoader(new TorchOptions().AddModule("old", () => new TinyNet()))],
        };

        var error = Assert.Throws<ModelLoadException>(() => context.LoadModel());

        Assert.Equal(TorchFileFormat.LegacyPickle, TorchFileFormats.Detect(context.SerializedFilePath!));
        Assert.Equal("Model 'old': 'old.pt' is a torch.save file in the pre-1.6 format (a bare pickle); re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.", error.Message);
    }

    [Fact]
    public void An_aotinductor_shared_library_is_refused_saying_why()
    {
        var directory = Fixtures.NewDirectory();
        var library = Path.Combine(directory, "model.so");
        File.Copy("/proc/self/exe", library); // any ELF file: the format is told by its first bytes
        var context = new HandlerContext(new ModelManifest { ModelName = "aot", SerializedFile = "model.so" }, directory)
        {
            ModelLoaders = [new TorchModelLoader()],
        };

        var error = Assert.Throws<ModelLoadException>(() => context.LoadModel());

        Assert.Equal($"Model 'aot': 'model.so' is a shared library. {TorchPt2.AotInductorRefusal}", error.Message);
    }
}
