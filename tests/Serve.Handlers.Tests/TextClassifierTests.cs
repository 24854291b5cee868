using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Text;
using Serve.Runtime;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>
/// text_classifier against fixtures/make_text.py's Python references: torchtext's basic_english,
/// BERT's WordPiece algorithm, TorchServe's text_classifier preprocessing, and the models run by PyTorch.
/// </summary>
public class TextClassifierTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Theory]
    [MemberData(nameof(TextFixtures.CaseIndices), MemberType = typeof(TextFixtures))]
    public void Basic_english_gives_torchtexts_tokens(int index)
    {
        var expected = TextFixtures.Cases[index];
        Assert.Equal(expected.BasicEnglish, BasicEnglish.Tokenize(expected.Text));
    }

    [Fact]
    public void Ngrams_follow_torchtexts_ngrams_iterator()
    {
        Assert.Equal(["here", "we", "are", "here we", "we are", "here we are"], BasicEnglish.Ngrams(["here", "we", "are"], 3));
        Assert.Equal(["one"], BasicEnglish.Ngrams(["one"], 2));
    }

    [Fact]
    public void TorchServes_cleanup_expands_contractions_in_its_maps_order_and_keeps_ascii_only()
    {
        // "can't" precedes "can't've" and "y'all" precedes "y'all'd've" in TorchServe's map: the longer ones never match (Python printed these).
        Assert.Equal("i cannotve done it you alldve", TorchServeText.Clean("I can't've done it, y'all'd've"));
        Assert.Equal("cafe naive   a", TorchServeText.Clean("<i>Café</i> naïve &amp; 😀 a"));
    }

    [Fact]
    public async Task WordPiece_ids_are_the_reference_ids_on_every_text()
    {
        var directory = TextFixtures.ModelDirectory("bert", "model.onnx");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var differing = TextFixtures.Cases
                .Select(c => (c.Text, Expected: c.WordPiece, Ours: handler.Preprocess(Request(c.Text)).Ids))
                .Where(c => !c.Expected.SequenceEqual(c.Ours))
                .Select(c => $"{JsonSerializer.Serialize(c.Text)}: reference [{string.Join(", ", c.Expected)}], ours [{string.Join(", ", c.Ours)}]")
                .ToArray();
            Assert.True(differing.Length == 0, string.Join("\n", differing));
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TorchServe_path_ids_are_torchserves_on_every_text_and_text_with_no_words_is_refused()
    {
        var directory = TextFixtures.ModelDirectory("embedding_bag", "model.onnx");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            foreach (var c in TextFixtures.Cases)
            {
                if (c.TorchServeIds is null)
                {
                    var error = Assert.Throws<InvalidRequestException>(() => handler.Preprocess(Request(c.Text)));
                    Assert.Contains("no words left", error.Message);
                }
                else
                {
                    Assert.Equal(c.TorchServeIds, handler.Preprocess(Request(c.Text)).Ids);
                }
            }
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("bert", "model.onnx", "")]
    [InlineData("embedding_bag", "model.onnx", "")]
    // TorchScript declares no sequence length: max_length gives the traced model's 32 positions.
    [InlineData("bert", "model.pt", "handler:\n  max_length: 32\n")]
    [InlineData("embedding_bag", "model.pt", "")]
    public async Task Every_text_of_one_batch_gets_pythons_probabilities_under_index_to_name_labels(string fixture, string modelFile, string config)
    {
        var directory = TextFixtures.ModelDirectory(fixture, modelFile, "batchSize: 32\n" + config);
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var results = await ((IHandler)handler).HandleAsync([.. TextFixtures.Cases.Select(c => Request(c.Text))], context, CancellationToken.None);
            var labels = TextFixtures.Labels(fixture);
            var worst = 0.0;
            for (var i = 0; i < results.Count; i++)
            {
                var expected = fixture == "bert" ? TextFixtures.Cases[i].BertProbabilities : TextFixtures.Cases[i].TorchServeProbabilities;
                if (expected is null)
                {
                    Assert.Equal(InferenceErrorKind.InvalidRequest, results[i].ErrorKind);
                    continue;
                }
                Assert.True(results[i].IsSuccess, results[i].ErrorMessage);
                var answer = TextFixtures.Answer(results[i].Body.Span);
                Assert.Equal(labels, answer.Select(a => a.Label)); // every class, in class order
                for (var k = 0; k < expected.Length; k++)
                {
                    worst = Math.Max(worst, Math.Abs(answer[k].Probability - expected[k]));
                }
            }
            output.WriteLine($"{fixture} {modelFile}: largest probability difference from PyTorch {worst:E2} over {results.Count} texts");
            Assert.InRange(worst, 0, Tolerance);
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Text_over_the_models_length_keeps_its_first_tokens_and_max_length_can_shorten_it()
    {
        var longCase = TextFixtures.Cases.Single(c => c.Text.StartsWith("the great movie", StringComparison.Ordinal));
        var directory = TextFixtures.ModelDirectory("bert", "model.onnx", "handler:\n  max_length: 8\n");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var tokens = handler.Preprocess(Request(longCase.Text));
            Assert.True(tokens.Truncated);
            Assert.Equal([.. longCase.WordPiece[..7], longCase.WordPiece[^1]], tokens.Ids);
            Assert.False(handler.Preprocess(Request("a")).Truncated);
            var results = await ((IHandler)handler).HandleAsync([Request(longCase.Text)], context, CancellationToken.None);
            Assert.True(results[0].IsSuccess, results[0].ErrorMessage); // padded to the model's 32
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        Assert.Equal(32, longCase.WordPiece.Length); // the reference truncates at the model's 32 too
    }

    [Fact]
    public async Task An_onnx_model_declares_its_inputs_names_types_and_shapes()
    {
        var directory = TextFixtures.ModelDirectory("bert", "model.dynamic.onnx", "handler:\n  max_length: 32\n");
        try
        {
            var (_, context) = await TextFixtures.Load(directory);
            var inputs = ((IModelSignature)context.Model!).Inputs;
            Assert.Equal(
                ["input_ids Int64[-1, -1]", "attention_mask Int64[-1, -1]", "token_type_ids Int64[-1, -1]"],
                inputs.Select(i => $"{i.Name} {i.ElementType}{Tensor.FormatShape(i.Shape!)}"));
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_torchscript_model_declares_its_forwards_argument_names_and_a_bert_one_reads_512_tokens_unless_max_length_says_less()
    {
        var directory = TextFixtures.ModelDirectory("bert", "model.pt");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var inputs = ((IModelSignature)context.Model!).Inputs;
            Assert.Equal(
                ["input_ids ? ?", "attention_mask ? ?", "token_type_ids ? ?"],
                inputs.Select(i => $"{i.Name} {i.ElementType?.ToString() ?? "?"} {(i.Shape is null ? "?" : Tensor.FormatShape(i.Shape))}"));
            Assert.Equal(WordPieceInputs.DefaultMaxLength, ((WordPieceInputs)handler.TextInputs).MaxLength);
            var batch = handler.TextInputs.Batch([handler.Preprocess(Request("a")), handler.Preprocess(Request("the movie"))]);
            Assert.All(batch.Values, t => Assert.IsType<Tensor<long>>(t)); // TorchScript declares no type: token ids are int64
            Assert.Equal([2L, 4L], batch["input_ids"].Shape); // padded to the longest text
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_text_past_a_torchscript_bert_s_positions_without_max_length_fails_naming_the_inputs_and_libtorchs_reason()
    {
        var longCase = TextFixtures.Cases.Single(c => c.Text.StartsWith("the great movie", StringComparison.Ordinal));
        var directory = TextFixtures.ModelDirectory("bert", "model.pt");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            // The batch fails as a whole (a 500 over HTTP), as any model failure does.
            var error = await Assert.ThrowsAsync<HandlerStageException>(async () => await ((IHandler)handler).HandleAsync([Request(longCase.Text)], context, CancellationToken.None));
            Assert.IsType<ArgumentException>(error.InnerException);
            Assert.Equal(
                "The TorchScript model 'bert' refused its inputs (input_ids: Int64[1, 63], attention_mask: Int64[1, 63], token_type_ids: Int64[1, 63]): RuntimeError: index out of range in self",
                error.InnerException.Message);
            Assert.True((await ((IHandler)handler).HandleAsync([Request("a")], context, CancellationToken.None))[0].IsSuccess); // the model serves on
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_model_of_any_sequence_length_pads_each_batch_to_its_longest_text_and_gives_the_same_probabilities()
    {
        // The dynamic export has 32 positions, so max_length says so; without it the limit is 512.
        var directory = TextFixtures.ModelDirectory("bert", "model.dynamic.onnx", "batchSize: 32\nhandler:\n  max_length: 32\n");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var inputs = (WordPieceInputs)handler.TextInputs;
            Assert.Equal(32, inputs.MaxLength);
            var batch = inputs.Batch([handler.Preprocess(Request("a")), handler.Preprocess(Request("the movie"))]);
            Assert.Equal([2L, 4L], batch["input_ids"].Shape); // [CLS] the movie [SEP]
            Assert.Equal([1L, 1L, 1L, 0L, 1L, 1L, 1L, 1L], ((Tensor<long>)batch["attention_mask"]).Span.ToArray());
            var results = await ((IHandler)handler).HandleAsync([.. TextFixtures.Cases.Select(c => Request(c.Text))], context, CancellationToken.None);
            for (var i = 0; i < results.Count; i++)
            {
                var answer = TextFixtures.Answer(results[i].Body.Span);
                Assert.All(answer.Zip(TextFixtures.Cases[i].BertProbabilities), p => Assert.InRange(Math.Abs(p.First.Probability - p.Second), 0, Tolerance));
            }
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        var unlimited = TextFixtures.ModelDirectory("bert", "model.dynamic.onnx");
        try
        {
            var (handler, context) = await TextFixtures.Load(unlimited);
            Assert.Equal(WordPieceInputs.DefaultMaxLength, ((WordPieceInputs)handler.TextInputs).MaxLength);
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(unlimited, recursive: true);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0xFF, 0x62 }, "not valid UTF-8: 0xFF at byte 1")]
    [InlineData(new byte[] { 0xE2, 0x82 }, "not valid UTF-8")]                      // a truncated sequence
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, "not valid UTF-8")]                // an encoded surrogate
    [InlineData(new byte[] { 0xC0, 0xAF }, "not valid UTF-8")]                      // an overlong '/'
    [InlineData(new byte[0], "The text is empty")]
    [InlineData(new byte[] { 0x20, 0x0A, 0x09 }, "The text is empty")]
    public async Task Bad_bodies_are_refused_with_the_reason(byte[] body, string message)
    {
        await AssertRefused(new InferenceRequest(body), message);
    }

    [Theory]
    [InlineData("{\"data\": 5}", "\"data\" must be the text as a string, not Number")]
    [InlineData("{\"text\": \"hello\"}", "The JSON body has no text")]
    [InlineData("{\"data\": \"\"}", "The text is empty")]
    [InlineData("\"\\ud800\"", "not valid Unicode")]
    [InlineData("{\"data\": \"unclosed", "declared as JSON but is not valid JSON")]
    public async Task Bad_json_is_refused_with_the_reason(string json, string message)
    {
        await AssertRefused(new InferenceRequest(Encoding.UTF8.GetBytes(json), "application/json"), message);
    }

    [Fact]
    public void Json_forms_and_raw_text_give_the_same_text()
    {
        const string text = "Ünïcödé 😀 text";
        Assert.Equal(text, TextRequest.Text(Request(text)));
        Assert.Equal(text, TextRequest.Text(new InferenceRequest(Encoding.UTF8.GetBytes("{\"data\": \"Ünïcödé \\ud83d\\ude00 text\"}"), "application/json")));
        Assert.Equal(text, TextRequest.Text(new InferenceRequest(Encoding.UTF8.GetBytes("{\"body\": \"" + text + "\"}"))));
        Assert.Equal(text, TextRequest.Text(new InferenceRequest(Encoding.UTF8.GetBytes("\"" + text + "\""))));
        Assert.Equal(text, TextRequest.Text(new InferenceRequest((byte[])[0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]))); // a BOM is dropped
        // Text that only starts like JSON is text, unless the request says it is JSON.
        Assert.Equal("{not json} but text", TextRequest.Text(Request("{not json} but text")));
        Assert.Equal("\"Quoted\" is what he said", TextRequest.Text(Request("\"Quoted\" is what he said")));
    }

    [Theory]
    [InlineData("model.onnx", new[] { "index_to_name.json" }, "needs a vocabulary")]
    [InlineData("model.pt", new[] { "index_to_name.json" }, "needs a vocabulary")]
    [InlineData("model.onnx", new[] { "source_vocab.pt" }, "not in the zip format torch.save writes")]
    [InlineData("model.onnx", new[] { "source_vocab.txt", "vocab.txt" }, "holds vocab.txt and source_vocab.txt")]
    public async Task A_model_text_classifier_cannot_serve_fails_to_load_saying_why(string modelFile, string[]? files, string message)
    {
        var directory = TextFixtures.ModelDirectory("embedding_bag", modelFile, only: files ?? []);
        try
        {
            if (files?.Contains("source_vocab.pt") == true)
            {
                File.WriteAllBytes(Path.Combine(directory, "source_vocab.pt"), [0x80, 0x02]);
            }
            if (files?.Contains("vocab.txt") == true)
            {
                File.Copy(Path.Combine(TextFixtures.Root, "bert", "vocab.txt"), Path.Combine(directory, "vocab.txt"));
            }
            var error = await Assert.ThrowsAsync<HandlerStageException>(() => TextFixtures.Load(directory));
            Assert.IsType<ModelLoadException>(error.InnerException); // the server reports it as the model's load failure
            Assert.Contains(message, error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_torchscript_model_whose_forward_does_not_fit_the_vocabulary_fails_to_load_naming_its_arguments()
    {
        var directory = TextFixtures.ModelDirectory("embedding_bag", "model.pt");
        try
        {
            File.Copy(Path.Combine(TextFixtures.Root, "bert", "model.pt"), Path.Combine(directory, "model.pt"), overwrite: true);
            var error = await Assert.ThrowsAsync<HandlerStageException>(() => TextFixtures.Load(directory));
            Assert.IsType<ModelLoadException>(error.InnerException);
            Assert.Contains("takes 3 inputs (input_ids, attention_mask, token_type_ids); with source_vocab.txt", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Ngrams_comes_from_the_handler_section()
    {
        var directory = TextFixtures.ModelDirectory("embedding_bag", "model.onnx", "handler:\n  ngrams: 1\n");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var withBigrams = TextFixtures.Cases[0].TorchServeIds!; // "the movie was wonderful i loved it": 7 words, then 6 bigrams
            Assert.Equal(withBigrams[..7], handler.Preprocess(Request(TextFixtures.Cases[0].Text)).Ids);
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("handler:\n  max_length: 33\n", "at most the model's sequence length, 32")]
    [InlineData("handler:\n  max_length: 2\n", "at least 3")]
    [InlineData("handler:\n  do_lower_case: maybe\n", "handler.do_lower_case in model-config.yaml is 'maybe'")]
    public async Task Bad_settings_fail_the_load_naming_the_key(string config, string message)
    {
        var directory = TextFixtures.ModelDirectory("bert", "model.onnx", config);
        try
        {
            var error = await Assert.ThrowsAsync<HandlerStageException>(() => TextFixtures.Load(directory));
            Assert.IsType<ModelLoadException>(error.InnerException); // the server reports it as the model's load failure
            Assert.Contains(message, error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task AssertRefused(InferenceRequest request, string message)
    {
        var directory = TextFixtures.ModelDirectory("bert", "model.onnx");
        try
        {
            var (handler, context) = await TextFixtures.Load(directory);
            var results = await ((IHandler)handler).HandleAsync([request, Request("still served")], context, CancellationToken.None);
            Assert.Equal(InferenceErrorKind.InvalidRequest, results[0].ErrorKind);
            Assert.Contains(message, results[0].ErrorMessage);
            Assert.True(results[1].IsSuccess, results[1].ErrorMessage); // the rest of the batch is answered
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static InferenceRequest Request(string text) => new(Encoding.UTF8.GetBytes(text));
}
