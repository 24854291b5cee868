using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace Serve.Handlers.Tests;

/// <summary>
/// Real Kestrel on 127.0.0.1 serving both text_classifier paths with no handler code: a BERT-style
/// model with vocab.txt, and TorchServe's EmbeddingBag example with source_vocab.txt, each as ONNX
/// and as TorchScript (bert_ts, news_ts).
/// </summary>
public sealed class TextServer() : BuiltInServer(
    ("bert", TextFixtures.ModelDirectory("bert", "model.onnx", "batchSize: 4\nmaxBatchDelay: 20\n")),
    ("news", TextFixtures.ModelDirectory("embedding_bag", "model.onnx", "batchSize: 4\nmaxBatchDelay: 20\n")),
    ("bert_ts", TextFixtures.ModelDirectory("bert", "model.pt", "batchSize: 4\nmaxBatchDelay: 20\nhandler:\n  max_length: 32\n")),
    ("news_ts", TextFixtures.ModelDirectory("embedding_bag", "model.pt", "batchSize: 4\nmaxBatchDelay: 20\n")));

public class TextClassifierOverHttpTests(TextServer server) : IClassFixture<TextServer>
{
    [Theory]
    [InlineData("bert")]
    [InlineData("news")]
    [InlineData("bert_ts")]
    [InlineData("news_ts")]
    public async Task Every_text_gets_pythons_probabilities_over_http(string model)
    {
        var bert = model.StartsWith("bert", StringComparison.Ordinal);
        var labels = TextFixtures.Labels(bert ? "bert" : "embedding_bag");
        await Task.WhenAll(TextFixtures.Cases.Select(async c =>
        {
            using var response = await server.Client.PostAsync($"/predictions/{model}", new ByteArrayContent(Encoding.UTF8.GetBytes(c.Text)));
            var body = await response.Content.ReadAsStringAsync();
            var expected = bert ? c.BertProbabilities : c.TorchServeProbabilities;
            if (expected is null)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains("no words left to classify", body);
                return;
            }
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var answer = TextFixtures.Answer(Encoding.UTF8.GetBytes(body));
            Assert.Equal(labels, answer.Select(a => a.Label));
            Assert.All(answer.Zip(expected), pair => Assert.InRange(Math.Abs(pair.First.Probability - pair.Second), 0, 1e-4));
        }));
    }

    [Fact]
    public async Task TorchServes_json_envelope_gives_the_same_answer_as_the_raw_text()
    {
        const string text = "Café naïve résumé 😀";
        using var raw = await server.Client.PostAsync("/predictions/bert", new StringContent(text, Encoding.UTF8, "text/plain"));
        using var json = await server.Client.PostAsync("/predictions/bert", new StringContent(JsonSerializer.Serialize(new { data = text }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal(await raw.Content.ReadAsStringAsync(), await json.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("news")]
    [InlineData("news_ts")]
    public async Task Invalid_utf8_and_empty_text_get_400_with_the_reason(string model)
    {
        using var invalid = await server.Client.PostAsync($"/predictions/{model}", new ByteArrayContent([0x68, 0x69, 0xC3, 0x28]));
        await AssertBadRequest(invalid, "not valid UTF-8: 0xC3 at byte 2");
        using var blank = new ByteArrayContent("   "u8.ToArray());
        blank.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var empty = await server.Client.PostAsync($"/predictions/{model}", blank);
        await AssertBadRequest(empty, "The text is empty");
    }

    private static async Task AssertBadRequest(HttpResponseMessage response, string message)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("InvalidRequestException", error.RootElement.GetProperty("type").GetString());
        Assert.Contains(message, error.RootElement.GetProperty("message").GetString());
    }
}
