using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Torch.Tests;

/// <summary>
/// TorchScript models run by input name (fixtures/make_text.py's EmbeddingBag, forward(text, offsets),
/// and tiny BERT, forward(input_ids, attention_mask, token_type_ids)): names read from the file's
/// code, int64 and int32 inputs, one output named "output" (a tuple: output0, output1, ...), and precise
/// errors for wrong inputs.
/// </summary>
public class NamedInputsTests
{
    private static readonly string TextFixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "text");

    [Fact]
    public void The_inputs_are_the_forwards_argument_names_in_order_with_no_type_or_shape()
    {
        using var bag = Load("embedding_bag.pt");
        using var bert = Load("bert.pt");

        Assert.Equal(["text", "offsets"], bag.Inputs.Select(i => i.Name));
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], bert.Inputs.Select(i => i.Name));
        Assert.All(bag.Inputs.Concat(bert.Inputs), i => Assert.True(i.ElementType is null && i.Shape is null, i.ToString()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Int64_or_int32_token_ids_give_pytorchs_logits_as_the_output_named_output(bool int32)
    {
        var reference = ReferenceCase();
        using var bag = Load("embedding_bag.pt");
        var inputs = new Dictionary<string, Tensor>
        {
            ["offsets"] = int32 ? new Tensor<int>(new[] { 0 }, 1) : new Tensor<long>(new[] { 0L }, 1),
            ["text"] = int32 ? new Tensor<int>(reference.Ids.Select(i => (int)i).ToArray(), reference.Ids.Length) : new Tensor<long>(reference.Ids, reference.Ids.Length),
        };

        var outputs = await bag.RunAsync(inputs, default);

        using var logits = Assert.IsType<Tensor<float>>(Assert.Single(outputs, o => o.Key == TorchScriptModel.OutputName).Value);
        Assert.Equal([1L, reference.Probabilities.Length], logits.ShapeArray());
        var exp = logits.Span.ToArray().Select(v => Math.Exp(v)).ToArray();
        var probabilities = exp.Select(e => e / exp.Sum());
        Assert.All(probabilities.Zip(reference.Probabilities), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1e-4));
    }

    [Fact]
    public async Task A_tuple_is_output0_output1_and_so_on_in_order()
    {
        using var detector = new TorchScriptModel(Path.Combine(AppContext.BaseDirectory, "fixtures", "vision", "detector.pt"), "detector", TorchSharp.torch.CPU);
        // forward(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]: boxes, labels, scores
        Assert.Equal("image", Assert.Single(detector.Inputs).Name);
        var image = new float[3 * 32 * 32];
        for (var i = 0; i < image.Length; i++)
        {
            image[i] = i % 7 / 7f;
        }

        var outputs = await detector.RunAsync(new Dictionary<string, Tensor> { ["image"] = new Tensor<float>(image, 3, 32, 32) }, default);

        Assert.Equal(["output0", "output1", "output2"], outputs.Keys.Order());
        Assert.Equal([TensorElementType.Float, TensorElementType.Int64, TensorElementType.Float], new[] { "output0", "output1", "output2" }.Select(k => outputs[k].ElementType));
        Assert.Equal(4, outputs["output0"].Shape[1]); // boxes: n x 4
        foreach (var output in outputs.Values)
        {
            output.Dispose();
        }
    }

    [Fact]
    public async Task A_missing_input_is_named()
    {
        using var bag = Load("embedding_bag.pt");
        var error = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await bag.RunAsync(new Dictionary<string, Tensor> { ["text"] = new Tensor<long>(new[] { 1L, 2L }, 2) }, default));
        Assert.Equal("The TorchScript model 'text' takes inputs text, offsets (its forward's arguments); missing: offsets.", error.Message);
    }

    [Fact]
    public async Task A_wrong_name_is_named_with_the_one_it_stands_for()
    {
        using var bag = Load("embedding_bag.pt");
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await bag.RunAsync(new Dictionary<string, Tensor>
        {
            ["tokens"] = new Tensor<long>(new[] { 1L, 2L }, 2),
            ["offsets"] = new Tensor<long>(new[] { 0L }, 1),
        }, default));
        Assert.Equal("The TorchScript model 'text' takes inputs text, offsets (its forward's arguments); missing: text; unknown: tokens.", error.Message);
    }

    [Fact]
    public async Task A_wrong_element_type_is_refused_naming_each_inputs_type_and_libtorchs_reason_and_the_model_serves_on()
    {
        using var bag = Load("embedding_bag.pt");
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await bag.RunAsync(new Dictionary<string, Tensor>
        {
            ["text"] = new Tensor<float>(new[] { 1f, 2f }, 2),
            ["offsets"] = new Tensor<long>(new[] { 0L }, 1),
        }, default));
        Assert.StartsWith("The TorchScript model 'text' refused its inputs (text: Float[2], offsets: Int64[1]): ", error.Message);
        Assert.EndsWith("RuntimeError: Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got CPUFloatType instead (while checking arguments for embedding_bag)", error.Message);

        var outputs = await bag.RunAsync(new Dictionary<string, Tensor>
        {
            ["text"] = new Tensor<long>(new[] { 1L, 2L }, 2),
            ["offsets"] = new Tensor<long>(new[] { 0L }, 1),
        }, default);
        Assert.Single(outputs).Value.Dispose();
    }

    [Fact]
    public async Task An_element_type_torchsharp_has_no_tensor_for_is_refused_by_name()
    {
        using var bag = Load("embedding_bag.pt");
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await bag.RunAsync(new Dictionary<string, Tensor>
        {
            ["text"] = new Tensor<string>(new[] { "the" }, 1),
            ["offsets"] = new Tensor<long>(new[] { 0L }, 1),
        }, default));
        Assert.Equal("Model 'text' was given a String tensor; the TorchSharp backend takes float32, float64, int64, int32, uint8 and bool.", error.Message);
    }

    [Fact]
    public void A_file_whose_code_has_no_forward_for_its_class_cannot_name_its_inputs()
    {
        // The tiny model's forward is found; a copy whose data.pkl names a class its code lacks is not.
        var directory = Fixtures.NewDirectory();
        var path = Path.Combine(directory, "renamed.pt");
        File.Copy(Path.Combine(TextFixtures, "embedding_bag.pt"), path);
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = zip.Entries.Single(e => e.FullName.EndsWith("/code/__torch__.py", StringComparison.Ordinal));
            string code;
            using (var reader = new StreamReader(entry.Open()))
            {
                code = reader.ReadToEnd();
            }
            entry.Delete();
            using var writer = new StreamWriter(zip.CreateEntry(entry.FullName).Open());
            writer.Write(code.Replace("def forward(self: __torch__.TextSentiment", "def forward(self: __torch__.Other", StringComparison.Ordinal));
        }
        using var model = new TorchScriptModel(path, "renamed", TorchSharp.torch.CPU);
        var error = Assert.Throws<ModelLoadException>(() => model.Inputs);
        Assert.Equal(
            "Model 'renamed': the argument names of 'renamed.pt''s forward cannot be read (its code has no forward of __torch__.TextSentiment); " +
            "run it with one tensor, or save it with torch.jit.save from torch.jit.trace or torch.jit.script.", error.Message);
    }

    private static TorchScriptModel Load(string file) =>
        new(Path.Combine(TextFixtures, file), "text", TorchSharp.torch.CPU);

    /// <summary>The first text's TorchServe ids and PyTorch's probabilities for them.</summary>
    private static (long[] Ids, double[] Probabilities) ReferenceCase()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TextFixtures, "expected.json")));
        var first = document.RootElement[0];
        return ([.. first.GetProperty("torchserve_ids").EnumerateArray().Select(e => e.GetInt64())],
                [.. first.GetProperty("torchserve_probabilities").EnumerateArray().Select(e => e.GetDouble())]);
    }
}
