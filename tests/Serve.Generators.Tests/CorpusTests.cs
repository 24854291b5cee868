using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Serve.Generators.Tests;

/// <summary>
/// Every shape in <see cref="Corpus"/> compiled with the real generator and analyzer, as a build
/// with warnings as errors sees it: no generator exception, nothing reported inside generated
/// files, and either a clean build or exactly the expected diagnostic at the expected place.
/// </summary>
public class CorpusTests
{
    public static TheoryData<Shape> LegalShapes() => new(Corpus.Legal());

    public static TheoryData<Shape> IllegalShapes() => new(Corpus.Illegal());

    [Fact]
    public void The_corpus_holds_at_least_sixty_shapes() =>
        Assert.True(Corpus.Legal().Count() + Corpus.Illegal().Count() >= 60);

    [Theory]
    [MemberData(nameof(LegalShapes))]
    public async Task A_legal_shape_builds_clean_and_every_handler_gets_its_code(Shape shape)
    {
        var (result, output, diagnostics) = await BuildAsync(shape);

        var problems = diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id != "CS1591").ToArray();
        Assert.True(problems.Length == 0, "Expected a clean build:\n" + string.Join("\n", problems.Select(d => d.ToString())));
        var handlers = CountOf(shape.Source, "[Handler(");
        Assert.Equal(handlers, result.GeneratedSources.Count(s => s.HintName.EndsWith(".Serve.g.cs", StringComparison.Ordinal)));
        Assert.Equal(handlers > 0, result.GeneratedSources.Any(s => s.HintName == "ServeRegistration.g.cs"));
        Assert.Equal(shape.References == References.App, result.GeneratedSources.Any(s => s.HintName == "ServeEndpoints.g.cs"));
        Assert.Equal(
            result.GeneratedSources.Length,
            result.GeneratedSources.Select(s => s.HintName.ToUpperInvariant()).Distinct().Count());
        _ = output;
    }

    /// <summary>The generated code is C# 9, the oldest version supported (SERVE012 below it): every legal shape, compiled as C# 9, has nothing reported inside generated files.</summary>
    [Theory]
    [MemberData(nameof(LegalShapes))]
    public async Task A_legal_shape_compiled_as_CSharp_9_has_no_diagnostic_in_generated_code(Shape shape)
    {
        var (result, _, diagnostics) = await BuildAsync(shape with { Language = LanguageVersion.CSharp9 });

        // The shape's own code may need a newer C# (file-scoped namespaces, required members): that is its error, not ours.
        Assert.DoesNotContain(diagnostics, d => d.Id.StartsWith("SERVE", StringComparison.Ordinal));
        Assert.Equal(CountOf(shape.Source, "[Handler("), result.GeneratedSources.Count(s => s.HintName.EndsWith(".Serve.g.cs", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(IllegalShapes))]
    public async Task An_illegal_shape_gives_exactly_the_expected_diagnostic_where_expected(Shape shape)
    {
        var (_, _, diagnostics) = await BuildAsync(shape);

        var ours = diagnostics.Where(d => d.Id.StartsWith("SERVE", StringComparison.Ordinal)).ToArray();
        var expected = diagnostics.Where(d => d.Id == shape.Expected).ToArray();
        Assert.True(expected.Length == 1, $"Expected one {shape.Expected}, got:\n" + string.Join("\n", diagnostics.Select(d => d.ToString())));
        if (shape.Expected!.StartsWith("SERVE", StringComparison.Ordinal))
        {
            Assert.Equal(shape.Also is null ? 1 : 2, ours.Length);
            Assert.All(ours, d => Assert.True(d.Id == shape.Expected || d.Id == shape.Also, d.ToString()));
            Assert.Equal(DiagnosticSeverity.Error, expected[0].Severity);
        }
        else
        {
            Assert.Empty(ours); // The compiler's error is enough; ours would only repeat it.
        }

        var source = Corpus.Usings + shape.Source;
        Assert.True(shape.Start >= 0, $"'{shape.At}' is not in the source");
        var span = expected[0].Location.SourceSpan;
        Assert.Equal("Source0.cs", expected[0].Location.SourceTree!.FilePath);
        Assert.Equal(Corpus.Usings.Length + shape.Start, span.Start);
        Assert.StartsWith(shape.Target.Split('(')[0], source.Substring(span.Start));
        if (shape.Target.Contains('('))
        {
            Assert.Equal(shape.Target, source.Substring(span.Start, span.Length));
        }
    }

    /// <summary>
    /// Compiles the shape, runs the generator and then the analyzer over the result (as a build does),
    /// and checks what every shape must satisfy: no generator exception, no diagnostic inside generated files.
    /// </summary>
    private static async Task<(GeneratorRunResult Result, Compilation Output, Diagnostic[] Diagnostics)> BuildAsync(Shape shape)
    {
        var parseOptions = new CSharpParseOptions(shape.Language, DocumentationMode.Diagnose);
        var compilation = GeneratorHarness.Compile([Corpus.Usings + shape.Source], shape.References, parseOptions, shape.AssemblyName);
        var (run, output) = GeneratorHarness.Run(compilation);
        var result = run.Results.Single();
        Assert.Null(result.Exception);
        Assert.Empty(run.Diagnostics);

        var generatedTrees = output.SyntaxTrees.Except(compilation.SyntaxTrees).ToHashSet();
        var compilerDiagnostics = output.GetDiagnostics();
        var inGenerated = compilerDiagnostics
            .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && generatedTrees.Contains(tree))
            .ToArray();
        Assert.True(inGenerated.Length == 0, "Diagnostics inside generated code:\n" + string.Join("\n", inGenerated.Select(d => d.ToString()))
            + "\n\n" + string.Join("\n\n", result.GeneratedSources.Select(s => s.HintName + ":\n" + s.SourceText)));

        var analyzerDiagnostics = await GeneratorHarness.AnalyzeAsync(output);
        var all = compilerDiagnostics.Concat(analyzerDiagnostics).Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        return (result, output, all);
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
