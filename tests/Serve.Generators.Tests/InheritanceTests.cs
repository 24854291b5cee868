using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;

namespace Serve.Generators.Tests;

/// <summary>
/// Handlers that derive from a handler and replace one stage (TorchServe's subclass-a-built-in
/// pattern): stages come from the nearest class up the chain; the pipeline's types are checked
/// as a whole.
/// </summary>
public class InheritanceTests
{
    /// <summary>A base handler with virtual stages, like the built-ins.</summary>
    private const string Base = """
        using System.Collections.Generic;
        using System.Linq;
        using Serve;
        using Serve.Runtime;

        namespace Shapes;

        [Handler("scores")]
        public partial class ScoresHandler
        {
            [Preprocess]
            public virtual float Parse(InferenceRequest request) => request.Body.Length;

            [Inference]
            public float[] Run(IReadOnlyList<float> inputs) => inputs.ToArray();

            [Postprocess]
            public virtual string[] Format(float[] outputs) => outputs.Select(o => o.ToString()).ToArray();
        }
        """;

    [Fact]
    public void Override_preprocess_only()
    {
        MatchDerived(Base + """

            [Handler("doubled")]
            public partial class DoubledHandler : ScoresHandler
            {
                public override float Parse(InferenceRequest request) => 2 * base.Parse(request);
            }
            """, "InheritPreprocess", "Shapes.DoubledHandler");
    }

    [Fact]
    public void Override_postprocess_only_and_a_new_stage()
    {
        MatchDerived(Base + """

            [Handler("upper")]
            public partial class UpperHandler : ScoresHandler
            {
                public override string[] Format(float[] outputs) => base.Format(outputs).Select(s => s.ToUpperInvariant()).ToArray();
            }

            [Handler("rounded")]
            public partial class RoundedHandler : ScoresHandler
            {
                [Postprocess]
                public new int[] Format(float[] outputs) => outputs.Select(o => (int)o).ToArray();
            }
            """, "InheritPostprocess", "Shapes.UpperHandler", "Shapes.RoundedHandler");
    }

    /// <summary>Issue 21, defect 1: the derived handler states that it preprocesses whole batches, or the base's per-request preprocess would still be the one the server runs.</summary>
    [Fact]
    public void A_batch_preprocess_replacing_a_per_request_one()
    {
        MatchDerived(Base + """

            [Handler("batched")]
            public partial class BatchedHandler : ScoresHandler
            {
                [Preprocess]
                public IReadOnlyList<float> ParseAll(IReadOnlyList<InferenceRequest> batch) => batch.Select(r => (float)r.Body.Length).ToArray();
            }
            """, "InheritBatchPreprocess", "Shapes.BatchedHandler");
    }

    [Fact]
    public void A_base_in_another_assembly()
    {
        var library = GeneratorHarness.CompileLibrary(Base, "ScoresLibrary");
        MatchDerived("""
            using System.Linq;
            using Serve;
            using Serve.Runtime;

            namespace App;

            [Handler("upper")]
            public partial class UpperHandler : Shapes.ScoresHandler
            {
                public override string[] Format(float[] outputs) => base.Format(outputs).Select(s => s.ToUpperInvariant()).ToArray();
            }
            """, "InheritFromLibrary", [library], "App.UpperHandler");
    }

    [Fact]
    public async Task An_override_that_no_longer_fits_is_SERVE004_at_the_override_naming_both_classes()
    {
        const string derived = """

            [Handler("texts")]
            public partial class TextsHandler : ScoresHandler
            {
                [Preprocess]
                public new string Parse(InferenceRequest request) => "";
            }
            """;
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Base + derived);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("SERVE004", diagnostic.Id);
        Assert.Equal(
            "[Inference] 'ScoresHandler.Run' takes 'IReadOnlyList<float>', but [Preprocess] 'Parse' gives 'IReadOnlyList<string>'",
            diagnostic.GetMessage());
        var at = (Base + derived).IndexOf("Parse(InferenceRequest request) => \"\"", System.StringComparison.Ordinal);
        Assert.Equal(at, diagnostic.Location.SourceSpan.Start);
    }

    [Fact]
    public async Task A_misfit_against_a_base_in_another_assembly_is_reported_at_the_override()
    {
        var library = GeneratorHarness.CompileLibrary(Base, "ScoresLibrary");
        const string derived = """
            using Serve;
            using Serve.Runtime;

            [Handler("texts")]
            public partial class TextsHandler : Shapes.ScoresHandler
            {
                [Inference]
                public new int[] Run(System.Collections.Generic.IReadOnlyList<float> inputs) => new int[inputs.Count];
            }
            """;
        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(GeneratorHarness.CompileWith([derived], [library])));
        Assert.Equal("SERVE004", diagnostic.Id);
        Assert.Equal("[Postprocess] 'ScoresHandler.Format' takes 'float[]', but [Inference] 'Run' gives 'int[]'", diagnostic.GetMessage());
        Assert.Equal(derived.IndexOf("Run(System", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    [Fact]
    public async Task A_private_stage_in_a_base_is_SERVE005_naming_the_base()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            public abstract class Base
            {
                [Postprocess]
                private string[] Format(float[] outputs) => new string[outputs.Length];
            }

            [Handler("derived")]
            public partial class Derived : Base
            {
                [Inference]
                public float[] Run(IReadOnlyList<InferenceRequest> batch) => new float[batch.Count];
            }
            """;
        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(source));
        Assert.Equal("SERVE005", diagnostic.Id);
        Assert.Contains("'Base.Format'", diagnostic.GetMessage());
        Assert.Contains("private in the base class 'Base'", diagnostic.GetMessage());
        Assert.Equal(source.IndexOf("Format(float[]", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    [Fact]
    public async Task A_new_method_hiding_a_stage_without_its_attribute_is_SERVE005_at_the_hiding_method()
    {
        const string derived = """

            [Handler("hiding")]
            public partial class HidingHandler : ScoresHandler
            {
                public new string[] Format(float[] outputs) => new string[outputs.Length];
            }
            """;
        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(Base + derived));
        Assert.Equal("SERVE005", diagnostic.Id);
        Assert.Contains("'HidingHandler.Format' hides it without the [Postprocess] attribute", diagnostic.GetMessage());
        Assert.Equal((Base + derived).IndexOf("Format(float[] outputs) => new string", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    /// <summary>
    /// Another assembly does not even import an internal member without InternalsVisibleTo, so a
    /// handler deriving from this base there would run without the stage and could not be told:
    /// the library's own build says so, at the stage.
    /// </summary>
    [Theory]
    [InlineData("internal", "", true)]
    [InlineData("private protected", "", true)]
    [InlineData("internal", "[assembly: System.Runtime.CompilerServices.InternalsVisibleTo(\"App\")]", false)]
    [InlineData("protected internal", "", false)]
    [InlineData("protected", "", false)]
    public async Task An_internal_stage_in_a_library_base_is_SERVE005_in_the_library(string access, string attribute, bool reported)
    {
        var source = attribute + $$"""

            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            public abstract class LibraryBase
            {
                [Inference]
                {{access}} string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }
            """;
        var compilation = GeneratorHarness.Compile([source], References.Library, GeneratorHarness.ParseOptions, "Library");
        var diagnostics = await GeneratorHarness.AnalyzeAsync(compilation);
        if (!reported)
        {
            Assert.Empty(diagnostics);
            return;
        }
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("SERVE005", diagnostic.Id);
        Assert.Contains("a handler there cannot see it and would run without it; make it protected or protected internal", diagnostic.GetMessage());
        Assert.Equal(source.IndexOf("Run(", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    /// <summary>C# reaches a protected method only through 'this', where the derived class's overload wins: the message names the member C# would call.</summary>
    [Fact]
    public async Task A_protected_stage_that_an_overload_takes_the_call_from_is_SERVE005_naming_that_overload()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            public abstract class Base
            {
                [Inference]
                protected string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }

            [Handler("derived")]
            public partial class Derived : Base
            {
                public string[] Run(IEnumerable<InferenceRequest> helper) => new string[0];
            }
            """;
        var diagnostic = Assert.Single(await GeneratorHarness.AnalyzeAsync(source));
        Assert.Equal("SERVE005", diagnostic.Id);
        Assert.Contains("the call 'this.Run(...)' in handler 'Derived' binds to 'Derived.Run(IEnumerable<InferenceRequest>)' instead", diagnostic.GetMessage());
        Assert.Equal(source.IndexOf("Run(IReadOnlyList", System.StringComparison.Ordinal), diagnostic.Location.SourceSpan.Start);
    }

    /// <summary>The same overload beside a public stage: the generated call names the stage's class, and the build is clean.</summary>
    [Fact]
    public void A_public_stage_beside_an_overload_is_called_through_its_class()
    {
        const string source = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            public abstract class Base
            {
                [Inference]
                public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
            }

            [Handler("derived")]
            public partial class Derived : Base
            {
                public string[] Run(IEnumerable<InferenceRequest> helper) => new string[0];
            }
            """;
        var generated = GeneratorHarness.Generate(source).Results.Single().GeneratedSources
            .Single(s => s.HintName == "Derived.Serve.g.cs").SourceText.ToString();
        Assert.Contains("string[] output = ((global::Base)this).Run((global::System.Collections.Generic.IReadOnlyList<global::Serve.Runtime.InferenceRequest>)(batch));", generated);
    }

    [Fact]
    public void Editing_a_base_in_another_file_regenerates_the_derived_handler()
    {
        const string derived = """
            using Serve;

            namespace Shapes;

            [Handler("doubled")]
            public partial class DoubledHandler : ScoresHandler
            {
                public override float Parse(Serve.Runtime.InferenceRequest request) => 2 * base.Parse(request);
            }
            """;
        var baseWithoutScoresHandler = Base.Replace("[Handler(\"scores\")]", "");
        var compilation = GeneratorHarness.Compile(baseWithoutScoresHandler, derived);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var baseTree = compilation.SyntaxTrees.First();
        // The base's postprocess now returns ints: the derived handler's responses become JSON.
        var edited = compilation.ReplaceSyntaxTree(baseTree, Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(
            baseWithoutScoresHandler.Replace("public virtual string[] Format(float[] outputs) => outputs.Select(o => o.ToString()).ToArray();",
                "public virtual int[] Format(float[] outputs) => outputs.Select(o => (int)o).ToArray();"),
            GeneratorHarness.ParseOptions, baseTree.FilePath));
        var generated = driver.RunGenerators(edited).GetRunResult().GeneratedTrees
            .Single(tree => tree.FilePath.EndsWith("Shapes.DoubledHandler.Serve.g.cs", System.StringComparison.Ordinal)).ToString();
        Assert.Contains("int[] outputs = this.Format(output);", generated);
        Assert.DoesNotContain("FromText", generated);
    }

    private static void MatchDerived(string source, string name, params string[] handlers) => MatchDerived(source, name, [], handlers);

    private static void MatchDerived(string source, string name, MetadataReference[] libraries, params string[] handlers)
    {
        var sources = GeneratorHarness.GenerateWith(source, libraries).Results.Single().GeneratedSources;
        foreach (var handler in handlers)
        {
            var generated = sources.Single(s => s.HintName == $"{handler}.Serve.g.cs");
            Snapshot.Match(generated.SourceText.ToString(), $"{name}/{generated.HintName}");
        }
        var registry = sources.Single(s => s.HintName == "ServeRegistration.g.cs");
        Snapshot.Match(registry.SourceText.ToString(), $"{name}/{registry.HintName}");
    }
}
