using System.Linq;

namespace Serve.Generators.Tests;

/// <summary>The generated source for several handler shapes, compared with committed files.</summary>
public class SnapshotTests
{
    [Fact]
    public void All_stages_with_batch_preprocess_and_async_stages()
    {
        const string source = """
            using System.Collections.Generic;
            using System.Threading;
            using System.Threading.Tasks;
            using Serve;
            using Serve.Runtime;

            namespace Shapes;

            [Handler("scores")]
            public partial class ScoresHandler
            {
                private float _scale;

                [Initialize]
                public void Load(HandlerContext context) => _scale = context.BatchSize;

                [Preprocess]
                public Task<float[]> Decode(IReadOnlyList<InferenceRequest> batch, CancellationToken cancellationToken) =>
                    Task.FromResult(new float[batch.Count]);

                [Inference]
                public ValueTask<float[]> Run(float[] input, HandlerContext context, CancellationToken cancellationToken) =>
                    ValueTask.FromResult(input);

                [Postprocess]
                public List<Score> Shape(float[] output)
                {
                    var scores = new List<Score>();
                    foreach (var value in output) scores.Add(new Score(value * _scale, null, new Dictionary<string, double>()));
                    return scores;
                }
            }

            public enum Quality { Low, High }

            public sealed record Score(float Value, string? Label, Dictionary<string, double> Extras)
            {
                public Quality? Quality { get; init; }
                public int? Rank { get; init; }
                public int[] Top { get; init; } = [];
            }
            """;
        MatchAll(source, "BatchPreprocess");
    }

    [Fact]
    public void Per_request_preprocess_with_default_initialize_and_inference()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            namespace Shapes;

            public sealed class Tensor { public float[] Data { get; init; } = []; }

            [Handler("digits")]
            public partial class DigitsHandler
            {
                [Preprocess]
                public static Tensor Preprocess(InferenceRequest request) => new() { Data = new float[64] };

                [Postprocess]
                public static Prediction[] Postprocess(Tensor logits) => [new Prediction(1, 0.5f)];
            }

            public sealed record Prediction(int Digit, float Probability);
            """;
        MatchAll(source, "PerRequestPreprocess");
    }

    [Fact]
    public void Inference_only_with_text_results_in_the_global_namespace()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            [Handler("echo")]
            internal partial class EchoHandler
            {
                [Inference]
                private string[] Echo(IReadOnlyList<InferenceRequest> batch)
                {
                    var texts = new string[batch.Count];
                    for (var i = 0; i < texts.Length; i++) texts[i] = System.Text.Encoding.UTF8.GetString(batch[i].Body.Span);
                    return texts;
                }
            }
            """;
        MatchAll(source, "TextResults");
    }

    [Fact]
    public void Explain_stage_and_a_user_json_context()
    {
        const string source = """
            using System;
            using System.Collections.Generic;
            using System.Text.Json;
            using System.Text.Json.Serialization;
            using System.Text.Json.Serialization.Metadata;
            using Serve;
            using Serve.Runtime;

            namespace Shapes;

            public sealed record Label(string Name);

            // Stands in for a System.Text.Json source-generated context, which this test's compilation does not run.
            public sealed class LabelsJsonContext : JsonSerializerContext
            {
                public LabelsJsonContext() : base(null) { }
                public static LabelsJsonContext Default { get; } = new();
                protected override JsonSerializerOptions? GeneratedSerializerOptions => null;
                public override JsonTypeInfo? GetTypeInfo(Type type) => null;
            }

            [Handler("labels", JsonContext = typeof(LabelsJsonContext))]
            public partial class LabelsHandler
            {
                [Preprocess]
                public int Count(IReadOnlyList<InferenceRequest> batch) => batch.Count;

                [Inference]
                public Label[] Run(int count) => new Label[count];

                [Explain]
                public IReadOnlyList<byte[]> Why(int count) => new byte[count][];
            }
            """;
        MatchAll(source, "ExplainAndJsonContext");
    }

    [Fact]
    public void A_record_with_keyword_names_an_overloaded_stage_and_an_explicit_interface_stage()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            namespace Acme.@event;

            public interface IRunner { float[] Run(IReadOnlyList<InferenceRequest> batch); }

            [Handler("keywords")]
            public sealed partial record @class : IRunner
            {
                [Preprocess]
                float[] IRunner.Run(IReadOnlyList<InferenceRequest> batch) => new float[batch.Count];

                [Inference]
                public @struct[] @default(IEnumerable<float> @in) => new @struct[] { new() };

                // Not a stage: the generated call must not bind to it.
                public @struct[] @default(float[] @in) => throw new System.InvalidOperationException();
            }

            public sealed class @struct
            {
                public int @class { get; init; }
                public @struct? @default { get; init; }
            }
            """;
        MatchAll(source, "RecordKeywordsOverloads");
    }

    [Fact]
    public void A_handler_library_gets_its_public_registration_and_no_endpoints()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            namespace Vision;

            [Handler("vision")]
            public partial class VisionHandler
            {
                [Inference]
                public string?[] Run(IReadOnlyList<InferenceRequest> batch) => new string?[batch.Count];
            }
            """;
        MatchAll(source, "Library", References.Library);
    }

    /// <summary>
    /// Compares every generated file with its snapshot, checks the code is reflection-free, and
    /// runs the generator a second time on an equal compilation: every step and output cached.
    /// </summary>
    private static void MatchAll(string source, string name, References references = References.App)
    {
        var result = GeneratorHarness.Generate(source, references);
        var sources = result.Results.Single().GeneratedSources;
        Assert.Equal(references == References.App ? 3 : 2, sources.Length);
        foreach (var generated in sources)
        {
            var text = generated.SourceText.ToString();
            Snapshot.Match(text, $"{name}/{generated.HintName}");
            foreach (var forbidden in new[] { "System.Reflection", "Activator", "dynamic", "Type.GetType", "MethodInfo" })
            {
                Assert.DoesNotContain(forbidden, text);
            }
        }
        IncrementalTests.AssertSecondRunIsCached(source, references);
    }
}
