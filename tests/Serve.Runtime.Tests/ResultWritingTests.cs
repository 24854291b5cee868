using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>
/// Generated result writing: JSON byte-for-byte as System.Text.Json's web defaults write it
/// (reflection is fine here: the tests are not trimmed), and text, bytes and results passed through.
/// </summary>
public class ResultWritingTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Records_with_every_property_shape_are_written_as_System_Text_Json_writes_them()
    {
        var results = await HandleAsync(new ReportHandler(), "a", "b");

        Assert.Equal(2, results.Count);
        for (var i = 0; i < results.Count; i++)
        {
            Assert.Equal(InferenceResult.JsonContentType, results[i].ContentType);
            Assert.True(results[i].IsSuccess);
            Assert.Equal(Serialize(JsonSamples.Report(i)), Text(results[i]));
        }
    }

    [Fact]
    public async Task Names_are_camel_case_or_the_JsonPropertyName_and_JsonIgnore_hides_a_property()
    {
        var results = await HandleAsync(new ReportHandler(), "a");
        using var json = JsonDocument.Parse(results[0].Body);
        var root = json.RootElement;

        Assert.Equal("renamed", root.GetProperty("custom_name").GetString());
        Assert.False(root.TryGetProperty("renamed", out _));
        Assert.False(root.TryGetProperty("secret", out _));
        Assert.True(root.TryGetProperty("urlValue", out _));
        Assert.Equal(6, root.GetProperty("colour").GetInt32()); // Enums are numbers.
        Assert.Equal(Convert.ToBase64String(JsonSamples.Report(0).Bytes), root.GetProperty("bytes").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("maybeCount").ValueKind);
    }

    [Fact]
    public async Task Classes_with_a_base_class_and_null_results_are_written_as_System_Text_Json_writes_them()
    {
        var results = await HandleAsync(new DogHandler(), "a", "b", "c");

        Assert.Equal(Serialize<Dog?>(JsonSamples.Dog(0)), Text(results[0]));
        Assert.Equal("null", Text(results[1]));
        Assert.Equal(Serialize<Dog?>(JsonSamples.Dog(2)), Text(results[2]));
    }

    [Fact]
    public async Task Dictionaries_and_arrays_can_be_the_whole_result()
    {
        var results = await HandleAsync(new CollectionsHandler(), "a", "b", "c");

        Assert.Equal(["{\"range\":[],\"null\":null}", "{\"range\":[0],\"null\":null}", "{\"range\":[0,1],\"null\":null}"], results.Select(Text));
    }

    [Fact]
    public async Task Without_postprocess_the_inference_output_is_the_response()
    {
        var results = await HandleAsync(new InferenceOnlyHandler(), "abc");

        Assert.Equal(Serialize(new Point(3, -3)), Text(results.Single()));
        Assert.Equal(InferenceResult.JsonContentType, results[0].ContentType);
    }

    [Fact]
    public async Task A_JsonContext_on_the_handler_writes_with_its_JsonTypeInfo()
    {
        var results = await HandleAsync(new JsonContextHandler(), "kid");

        // The context ignores nulls, which the generated writer would not: proof it was used.
        Assert.Equal("{\"name\":\"kid\"}", Text(results.Single()));
        Assert.Equal(InferenceResult.JsonContentType, results[0].ContentType);
    }

    [Fact]
    public async Task Strings_pass_through_as_utf8_text()
    {
        var results = await HandleAsync(new TextHandler(), "one", "two");

        Assert.Equal(["text: one é", "text: two é"], results.Select(Text));
        Assert.All(results, result => Assert.Equal("text/plain; charset=utf-8", result.ContentType));
        Assert.Equal(Encoding.UTF8.GetBytes("text: one é"), results[0].Body.ToArray());
    }

    [Fact]
    public async Task Byte_arrays_pass_through_as_octet_stream()
    {
        var results = await HandleAsync(new BytesHandler(), "abc", "");

        Assert.Equal([(byte)'c', (byte)'b', (byte)'a'], results[0].Body.ToArray());
        Assert.Empty(results[1].Body.ToArray());
        Assert.All(results, result => Assert.Equal("application/octet-stream", result.ContentType));
    }

    [Fact]
    public async Task Read_only_memory_passes_through_as_octet_stream()
    {
        var results = await HandleAsync(new MemoryHandler(), "xyz");

        Assert.Equal("xyz", Text(results.Single()));
        Assert.Equal("application/octet-stream", results[0].ContentType);
    }

    [Fact]
    public async Task Inference_results_pass_through_as_they_are()
    {
        var handler = new RawResultsHandler();
        var results = await HandleAsync(handler, "a", "b");

        Assert.Equal(2, results.Count);
        Assert.Same(handler.Returned[0], results[0]);
        Assert.Same(handler.Returned[1], results[1]);
        Assert.All(results, result => Assert.Equal("image/x-test", result.ContentType));
    }

    [Theory]
    [InlineData(3, 2)]
    [InlineData(1, 2)]
    [InlineData(0, 1)]
    public async Task A_postprocess_returning_the_wrong_number_of_results_fails_in_postprocess(int returned, int requests)
    {
        IHandler handler = new WrongCountHandler();
        var bodies = Enumerable.Repeat(returned.ToString(System.Globalization.CultureInfo.InvariantCulture), requests).ToArray();

        var error = await Assert.ThrowsAsync<HandlerStageException>(async () =>
            await handler.HandleAsync(Batch(bodies), Context(), CancellationToken.None));

        Assert.Equal(HandlerStage.Postprocess, error.Stage);
        Assert.Equal("results-wrong-count", error.HandlerName);
        Assert.Contains($"Returned {returned} results for a batch of {requests} requests", error.Message);
    }

    private static async Task<IReadOnlyList<InferenceResult>> HandleAsync(IHandler handler, params string[] bodies) =>
        await handler.HandleAsync(Batch(bodies), Context(), CancellationToken.None);

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Web);
}
