using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Serve.Generators.Tests;

/// <summary>The generator's pipeline caches: unrelated edits redo no work, relevant ones do.</summary>
public class IncrementalTests
{
    private const string Handler = """
        using System.Collections.Generic;
        using Serve;
        using Serve.Runtime;

        namespace Cached;

        [Handler("cached")]
        public partial class CachedHandler
        {
            [Preprocess] public static int Count(IReadOnlyList<InferenceRequest> batch) => batch.Count;
            [Inference] public Result[] Run(int count) => new Result[count];
        }

        public sealed record Result(string Label, float Score);
        """;

    private const string Other = """
        namespace Cached;
        public static class Unrelated { public static int Value() => 1; }
        """;

    [Fact]
    public void An_unrelated_edit_leaves_every_step_and_output_cached_or_unchanged()
    {
        var (first, second) = RunTwice(Other, Other.Replace("=> 1;", "=> 2; // edited"));

        AssertSteps(second, TrackingNames.Handlers, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached);
        AssertSteps(second, TrackingNames.Registrations, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        AssertSteps(second, TrackingNames.AllHandlers, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        AssertOutputsCached(second);
        Assert.Equal(first.GeneratedTrees.Length, second.GeneratedTrees.Length);
    }

    [Fact]
    public void An_edit_inside_the_handler_file_that_keeps_its_spec_leaves_the_outputs_unchanged()
    {
        var compilation = GeneratorHarness.Compile(Handler, Other);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var handlerTree = compilation.SyntaxTrees.First();
        var edited = compilation.ReplaceSyntaxTree(handlerTree, CSharpSyntaxTree.ParseText(
            Handler.Replace("=> batch.Count;", "=> batch.Count + 0; // edited body"), GeneratorHarness.ParseOptions, handlerTree.FilePath));
        var result = driver.RunGenerators(edited).GetRunResult();

        AssertSteps(result, TrackingNames.Handlers, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached);
        AssertSteps(result, TrackingNames.AllHandlers, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached);
        AssertOutputsCached(result);
    }

    /// <summary>
    /// With a [Handler] base in another file (the derived handler's spec then reaches into it: the
    /// binding check, the base's own parse for its generated members), an unrelated edit still
    /// leaves every step and output cached or unchanged.
    /// </summary>
    [Fact]
    public void An_unrelated_edit_leaves_a_derived_handler_cached()
    {
        const string baseClass = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;
            namespace Cached;
            [Handler("base")]
            public partial class BaseHandler
            {
                [Preprocess] public virtual int Parse(InferenceRequest request) => request.Body.Length;
                [Inference] protected string[] Run(IReadOnlyList<int> inputs) => new string[inputs.Count];
            }
            """;
        const string derived = """
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;
            namespace Cached;
            [Handler("derived")]
            public partial class DerivedHandler : BaseHandler
            {
                [Preprocess] public IReadOnlyList<int> ParseAll(IReadOnlyList<InferenceRequest> batch) => new int[batch.Count];
                public string[] Run(IEnumerable<long> helper) => new string[0];
            }
            """;
        var compilation = GeneratorHarness.Compile(baseClass, derived, Other);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult();
        var otherTree = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(otherTree, CSharpSyntaxTree.ParseText(
            Other.Replace("=> 1;", "=> 2; // edited"), GeneratorHarness.ParseOptions, otherTree.FilePath));
        var second = driver.RunGenerators(edited).GetRunResult();

        Assert.Empty(first.Diagnostics);
        Assert.Equal(4, first.GeneratedTrees.Length); // two handlers, the registration, the endpoints
        AssertSteps(second, TrackingNames.Handlers, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached);
        AssertSteps(second, TrackingNames.AllHandlers, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        AssertSteps(second, TrackingNames.Registrations, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        AssertOutputsCached(second);
    }

    /// <summary>Runs the generator twice on equal compilations: the second run redoes nothing.</summary>
    internal static void AssertSecondRunIsCached(string source, References references)
    {
        var compilation = GeneratorHarness.Compile([source], references, GeneratorHarness.ParseOptions);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var second = driver.RunGenerators(compilation.Clone()).GetRunResult();
        foreach (var name in new[] { TrackingNames.Handlers, TrackingNames.AllHandlers, TrackingNames.Registrations, TrackingNames.CompilationFacts })
        {
            AssertSteps(second, name, IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged);
        }
        AssertOutputsCached(second);
    }

    private static void AssertOutputsCached(GeneratorDriverRunResult result)
    {
        foreach (var (_, steps) in result.Results[0].TrackedOutputSteps)
        {
            Assert.All(steps.SelectMany(step => step.Outputs), output =>
                Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"An output was {output.Reason}"));
        }
    }

    [Fact]
    public void Changing_the_handler_name_modifies_the_handler_step()
    {
        var compilation = GeneratorHarness.Compile(Handler, Other);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var handlerTree = compilation.SyntaxTrees.First();
        var edited = compilation.ReplaceSyntaxTree(handlerTree,
            CSharpSyntaxTree.ParseText(Handler.Replace("\"cached\"", "\"renamed\""), GeneratorHarness.ParseOptions, handlerTree.FilePath));
        var result = driver.RunGenerators(edited).GetRunResult();

        AssertSteps(result, TrackingNames.Handlers, IncrementalStepRunReason.Modified);
        Assert.Contains(result.GeneratedTrees, tree => tree.ToString().Contains("MapTorchServePredictions(endpoints, \"renamed\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Pipeline_models_hold_no_symbols_syntax_or_compilations()
    {
        var (_, second) = RunTwice(Other, Other);
        // Only our own steps: Roslyn's internal ForAttributeWithMetadataName steps hold syntax by design.
        foreach (var name in new[] { TrackingNames.Handlers, TrackingNames.AllHandlers, TrackingNames.Registrations, TrackingNames.CompilationFacts })
        {
            var steps = second.Results[0].TrackedSteps[name];
            Assert.NotEmpty(steps);
            foreach (var output in steps.SelectMany(step => step.Outputs))
            {
                AssertNoRoslynObjects(output.Value, $"step {name}", new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
    }

    private static (GeneratorDriverRunResult First, GeneratorDriverRunResult Second) RunTwice(string other, string editedOther)
    {
        var compilation = GeneratorHarness.Compile(Handler, other);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult();

        // Re-parse with the original options, or every step looks modified.
        var otherTree = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(otherTree, CSharpSyntaxTree.ParseText(editedOther, GeneratorHarness.ParseOptions, otherTree.FilePath));
        var second = driver.RunGenerators(edited).GetRunResult();
        return (first, second);
    }

    private static void AssertSteps(GeneratorDriverRunResult result, string stepName, params IncrementalStepRunReason[] allowed)
    {
        var steps = result.Results[0].TrackedSteps[stepName];
        Assert.NotEmpty(steps);
        Assert.All(steps.SelectMany(step => step.Outputs), output =>
            Assert.True(allowed.Contains(output.Reason), $"Step {stepName} output was {output.Reason}, expected one of {string.Join(", ", allowed)}"));
    }

    private static void AssertNoRoslynObjects(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value))
        {
            return;
        }
        Assert.False(value is ISymbol or SyntaxNode or Compilation or SemanticModel or Location,
            $"{path} holds a {value.GetType().Name}, which breaks caching");
        if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                AssertNoRoslynObjects(item, path + "[]", seen);
            }
            return;
        }
        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertNoRoslynObjects(field.GetValue(value), path + "." + field.Name, seen);
        }
    }
}
