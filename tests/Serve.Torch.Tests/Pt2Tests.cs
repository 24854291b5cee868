using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>The pt2 section (and a misplaced onnx section) on TorchSharp models: what cannot be honoured is refused by name.</summary>
public class Pt2Tests
{
    [Theory]
    [InlineData("pt2:\n  compile:\n    enable: true", "Model 'tiny': pt2.compile cannot be honoured by the TorchSharp backend")]
    [InlineData("pt2: inductor", "Model 'tiny': pt2.compile (backend inductor) cannot be honoured")]
    [InlineData("pt2:\n  export:\n    aot_compile: true", "Model 'tiny': pt2.export.aot_compile: AOTInductor models")]
    [InlineData("pt2:\n  compile:\n    enable: false\n    options:\n      triton.cudagraphs: true", "pt2.compile.options.triton.cudagraphs is an Inductor option")]
    [InlineData("pt2:\n  compile:\n    enabled: true", "unknown pt2 option 'pt2.compile.enabled'")]
    [InlineData("onnx:\n  intraOpNumThreads: 2", "Model 'tiny': model-config sets onnx.intraOpNumThreads, but 'tiny.torchscript.pt' is a TorchScript file, loaded by TorchSharp; the onnx section applies to .onnx models.")]
    [InlineData("pt2:\n  compile:\n    enable: yes please", "'pt2.compile.enable' must be true or false, not 'yes please'")]
    public void Options_that_cannot_be_honoured_are_refused_by_name(string config, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Fixtures.Context("tiny.torchscript.pt", config: config).LoadModel());

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Compile_disabled_loads_the_model()
    {
        using var model = Fixtures.Context("tiny.torchscript.pt", config: "pt2:\n  compile:\n    enable: false").LoadModel();

        Assert.IsType<TorchScriptModel>(model);
    }
}
