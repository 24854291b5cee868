using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;

namespace Serve.Generators.Tests;

/// <summary>One test per diagnostic: its ID, where it points, and what it says.</summary>
public class DiagnosticTests
{
    private const string Usings = """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using Serve;
        using Serve.Runtime;

        """;

    [Fact]
    public async Task SERVE001_handler_class_not_partial()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public class Plain
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE001", at: "Plain");
        Assert.Contains("'Plain' must be declared partial", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE002_stage_attribute_without_handler()
    {
        var diagnostic = await SingleAsync("""
            public class NotAHandler
            {
                [Preprocess] public int Prepare(InferenceRequest request) => 0;
            }
            """, "SERVE002", at: "Prepare");
        Assert.Contains("class 'NotAHandler' has no [Handler] attribute and no handler can derive from it", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE003_two_methods_for_one_stage()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class Twice
            {
                [Inference] public string[] First(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                [Inference] public string[] Second(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE003", at: "Second");
        Assert.Contains("two [Inference] methods, 'First' and 'Second'", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE004_stage_output_that_the_next_stage_cannot_take_names_both_types()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class Mismatch
            {
                [Preprocess] public float[] Prepare(IReadOnlyList<InferenceRequest> batch) => new float[batch.Count];
                [Inference] public Task<string[]> Run(int[] input) => Task.FromResult(new string[input.Length]);
            }
            """, "SERVE004", at: "Run");
        Assert.Equal("[Inference] 'Run' takes 'int[]', but [Preprocess] 'Prepare' gives 'float[]'", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE004_default_postprocess_needs_a_list()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class NotAList
            {
                [Inference] public string Run(IReadOnlyList<InferenceRequest> batch) => "";
            }
            """, "SERVE004", at: "Run");
        Assert.Equal("The response takes a list with one result per request (IReadOnlyList<T>, List<T> or T[]), but [Inference] 'Run' gives 'string'", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE005_bad_stage_signature()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class BadSignature
            {
                [Preprocess] public void Prepare(InferenceRequest request) { }
                [Inference] public string[] Run(IReadOnlyList<string> input) => new string[input.Count];
            }
            """, "SERVE005", at: "Prepare");
        Assert.Contains("[Preprocess] method 'Prepare' has an unusable signature: it returns nothing", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE005_preprocess_must_take_requests()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class WrongInput
            {
                [Preprocess] public int Prepare(string text) => 0;
                [Inference] public string[] Run(int input) => [];
            }
            """, "SERVE005", at: "Prepare");
        Assert.Contains("preprocess takes an InferenceRequest or an IReadOnlyList<InferenceRequest>", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE005_names_parameter_modifiers_as_csharp_writes_them()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class Modifiers
            {
                [Inference] public string[] Run(ref readonly IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE005", at: "Run");
        Assert.Equal("[Inference] method 'Run' has an unusable signature: parameter 'batch' is 'ref readonly'; stage parameters are passed by value", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE005_async_void_and_bodyless_partial_initialize()
    {
        var asyncVoid = await SingleAsync("""
            [Handler("a")]
            public partial class AsyncVoid
            {
                [Initialize] public async void Load() => await Task.Yield();
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE005", at: "Load");
        Assert.Contains("it is 'async void', so the pipeline cannot await it or catch its errors; return Task instead", asyncVoid.GetMessage());

        var bodyless = await SingleAsync("""
            [Handler("a")]
            public partial class Bodyless
            {
                [Initialize] partial void Load();
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE005", at: "Load");
        Assert.Contains("a partial method without a body, so the compiler removes every call to it", bodyless.GetMessage());
    }

    [Fact]
    public async Task SERVE006_unserializable_result_type()
    {
        var diagnostic = await SingleAsync("""
            public sealed class Holder { public object Anything { get; init; } = new(); }

            [Handler("a")]
            public partial class Opaque
            {
                [Inference] public Holder[] Run(IReadOnlyList<InferenceRequest> batch) => new Holder[batch.Count];
            }
            """, "SERVE006", at: "Run");
        Assert.Contains("'Holder' cannot be written as a response: property 'Holder.Anything': 'object' has no shape known at compile time", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE006_types_whose_json_only_system_text_json_knows()
    {
        var diagnostic = await SingleAsync("""
            public sealed record Booking(System.DateOnly Day);

            [Handler("a")]
            public partial class Bookings
            {
                [Inference] public Booking[] Run(IReadOnlyList<InferenceRequest> batch) => new Booking[batch.Count];
            }
            """, "SERVE006", at: "Run");
        Assert.Contains("property 'Booking.Day': 'DateOnly' has a System.Text.Json format of its own", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE007_duplicate_handler_name()
    {
        var diagnostic = await SingleAsync("""
            [Handler("same")]
            public partial class First
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }

            [Handler("same")]
            public partial class Second
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE007", at: "Handler(\"same\")", occurrence: 2);
        Assert.Contains("'same' is already used by 'First' ('same')", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE008_nested_handler_class()
    {
        var diagnostic = await SingleAsync("""
            public partial class Outer
            {
                [Handler("a")]
                public partial class Inner
                {
                    [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                }
            }
            """, "SERVE008", at: "Inner");
        Assert.Contains("cannot be nested in 'Outer'", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE008_generic_handler_class()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class Generic<T>
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE008", at: "Generic");
        Assert.Contains("cannot be generic", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE009_no_inference_and_no_postprocess()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class OnlyPreprocess
            {
                [Preprocess] public int Prepare(IReadOnlyList<InferenceRequest> batch) => batch.Count;
            }
            """, "SERVE009", at: "OnlyPreprocess");
        Assert.Contains("declares neither [Inference] nor [Postprocess]", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE010_invalid_handler_name()
    {
        var diagnostic = await SingleAsync("""
            [Handler("no spaces/please")]
            public partial class BadName
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE010", at: "Handler(\"no spaces/please\")");
        Assert.Contains("'no spaces/please' is not valid", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE011_handler_without_parameterless_constructor()
    {
        var diagnostic = await SingleAsync("""
            [Handler("a")]
            public partial class NeedsArgument
            {
                public NeedsArgument(int size) { }
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """, "SERVE011", at: "NeedsArgument");
        Assert.Contains("has no public or internal constructor that takes no arguments", diagnostic.GetMessage());
    }

    [Fact]
    public async Task SERVE012_language_version_too_old_for_the_generated_code()
    {
        const string source = """
            [Handler("a")]
            public partial class Old
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """;
        var compilation = GeneratorHarness.Compile([Usings + source], References.App, new Microsoft.CodeAnalysis.CSharp.CSharpParseOptions(Microsoft.CodeAnalysis.CSharp.LanguageVersion.CSharp8));
        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(compilation));
        Assert.Equal("SERVE012", diagnostic.Id);
        Assert.Equal(Usings.Length + source.IndexOf("Handler(\"a\")", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
        Assert.Equal("Serve's generated code needs C# 9 or later, but this project compiles C# 8.0; set <LangVersion> to 9 or later (the .NET 10 default is 14)", diagnostic.GetMessage());
        Assert.Empty(GeneratorHarness.Run(compilation).Result.GeneratedTrees);
    }

    [Fact]
    public async Task Stages_on_an_abstract_base_class_are_inherited_not_reported()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Usings + """
            public abstract class ClassifierBase
            {
                [Postprocess] public string[] Post(float[] logits) => new string[logits.Length];
            }

            [Handler("a")]
            public partial class Classifier : ClassifierBase { }
            """);
        // SERVE013 ("not supported yet") is retired: the handler's pipeline is the base's postprocess
        // after the default inference; no SERVE002 on an abstract base, no confusing SERVE009.
        Assert.Empty(diagnostics);
    }

    [Fact]
    public async Task A_correct_handler_has_no_diagnostics_and_the_generator_skips_a_wrong_one()
    {
        const string good = """
            [Handler("good")]
            public partial class Good
            {
                [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """;
        Assert.Empty(await GeneratorHarness.AnalyzeAsync(Usings + good));

        var driver = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(Usings + """
            [Handler("a")]
            public partial class Mismatch
            {
                [Preprocess] public float[] Prepare(IReadOnlyList<InferenceRequest> batch) => new float[batch.Count];
                [Inference] public string[] Run(int[] input) => new string[input.Length];
            }
            """));
        Assert.DoesNotContain(driver.GetRunResult().GeneratedTrees, tree => tree.FilePath.EndsWith(".Serve.g.cs", System.StringComparison.Ordinal));
    }

    /// <summary>Analyzes the source and returns its only diagnostic, checking the ID and that it points at <paramref name="at"/>.</summary>
    private static async Task<Diagnostic> SingleAsync(string source, string id, string at, int occurrence = 1)
    {
        var text = Usings + source;
        var diagnostics = await GeneratorHarness.AnalyzeAsync(text);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);

        var expectedStart = -1;
        for (var i = 0; i < occurrence; i++)
        {
            expectedStart = source.IndexOf(at, expectedStart + 1, System.StringComparison.Ordinal);
        }
        Assert.Equal(Usings.Length + expectedStart, diagnostic.Location.SourceSpan.Start);
        Assert.StartsWith(at.Split('(')[0], text.Substring(diagnostic.Location.SourceSpan.Start));
        return diagnostic;
    }
}
