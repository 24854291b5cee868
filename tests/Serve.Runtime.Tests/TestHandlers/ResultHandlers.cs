using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serve.Runtime;

namespace Serve.Runtime.Tests.TestHandlers;

/// <summary>Request i gets <see cref="JsonSamples.Report"/>(i), written by generated JSON code.</summary>
[Handler("results-report")]
public partial class ReportHandler
{
    [Inference]
    public static int[] Run(IReadOnlyList<InferenceRequest> batch) => Enumerable.Range(0, batch.Count).ToArray();

    [Postprocess]
    public static List<Report> Shape(int[] indexes) => indexes.Select(JsonSamples.Report).ToList();
}

/// <summary>A class hierarchy as the result; request 1 gets null.</summary>
[Handler("results-dog")]
public partial class DogHandler
{
    [Inference]
    public static int[] Run(IReadOnlyList<InferenceRequest> batch) => Enumerable.Range(0, batch.Count).ToArray();

    [Postprocess]
    public static Dog?[] Shape(int[] indexes) => indexes.Select(i => i == 1 ? null : JsonSamples.Dog(i)).ToArray();
}

/// <summary>Results that are JSON arrays, dictionaries and numbers rather than objects.</summary>
[Handler("results-collections")]
public partial class CollectionsHandler
{
    [Inference]
    public static int[] Run(IReadOnlyList<InferenceRequest> batch) => Enumerable.Range(0, batch.Count).ToArray();

    [Postprocess]
    public static List<Dictionary<string, int[]?>> Shape(int[] indexes) =>
        indexes.Select(i => new Dictionary<string, int[]?> { ["range"] = Enumerable.Range(0, i).ToArray(), ["null"] = null }).ToList();
}

/// <summary>No postprocess: the inference output (one Point per request) is the response.</summary>
[Handler("results-inference-only")]
public partial class InferenceOnlyHandler
{
    [Inference]
    public static Point[] Run(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => new Point(request.Body.Length, -request.Body.Length)).ToArray();
}

/// <summary>Strings pass through as text.</summary>
[Handler("results-text")]
public partial class TextHandler
{
    [Preprocess]
    public static string Decode(InferenceRequest request) => Encoding.UTF8.GetString(request.Body.Span);

    [Postprocess]
    public static string[] Shape(IReadOnlyList<string> inputs) => inputs.Select(input => "text: " + input + " é").ToArray();

    [Inference]
    public static IReadOnlyList<string> Run(IReadOnlyList<string> inputs) => inputs;
}

/// <summary>Bytes pass through as application/octet-stream.</summary>
[Handler("results-bytes")]
public partial class BytesHandler
{
    [Inference]
    public static byte[][] Run(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => request.Body.ToArray().Reverse().ToArray()).ToArray();
}

/// <summary>ReadOnlyMemory&lt;byte&gt; passes through as application/octet-stream too.</summary>
[Handler("results-memory")]
public partial class MemoryHandler
{
    [Inference]
    public static List<ReadOnlyMemory<byte>> Run(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => request.Body).ToList();
}

/// <summary>InferenceResults the handler builds pass through unchanged.</summary>
[Handler("results-raw")]
public partial class RawResultsHandler
{
    public List<InferenceResult> Returned { get; } = [];

    [Inference]
    public InferenceResult[] Run(IReadOnlyList<InferenceRequest> batch)
    {
        var results = batch.Select(request => new InferenceResult(request.Body, "image/x-test")).ToArray();
        Returned.AddRange(results);
        return results;
    }
}

/// <summary>Returns as many results as the first request's body says, whatever the batch size.</summary>
[Handler("results-wrong-count")]
public partial class WrongCountHandler
{
    [Inference]
    public static IReadOnlyList<InferenceRequest> Run(IReadOnlyList<InferenceRequest> batch) => batch;

    [Postprocess]
    public static string[] Shape(IReadOnlyList<InferenceRequest> batch) =>
        Enumerable.Repeat("result", int.Parse(Encoding.UTF8.GetString(batch[0].Body.Span), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}

/// <summary>JSON written with the JsonTypeInfo of a user's JsonSerializerContext.</summary>
[Handler("results-json-context", JsonContext = typeof(ChildJsonContext))]
public partial class JsonContextHandler
{
    [Inference]
    public static Child[] Run(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => new Child(Encoding.UTF8.GetString(request.Body.Span), null)).ToArray();
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Child))]
public partial class ChildJsonContext : JsonSerializerContext
{
}
