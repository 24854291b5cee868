using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Serve.Runtime;

namespace Serve.Generators.Tests;

/// <summary>
/// <see cref="StageCorpus"/> built as a build with warnings as errors sees it, at C# 9 and at the
/// newest version, in memory: legal shapes build clean and, loaded and run in this process,
/// answer with exactly the stages they mark (directly, and as the server runs a per-request
/// preprocess first); illegal ones give exactly the expected diagnostic where expected, and
/// nothing is ever reported inside generated code.
/// </summary>
public class StageCorpusTests
{
    public static TheoryData<StageShape, LanguageVersion> LegalShapes() => WithVersions(StageCorpus.Legal());

    public static TheoryData<StageShape, LanguageVersion> IllegalShapes() => WithVersions(StageCorpus.Illegal());

    private static TheoryData<StageShape, LanguageVersion> WithVersions(IEnumerable<StageShape> shapes)
    {
        var data = new TheoryData<StageShape, LanguageVersion>();
        foreach (var shape in shapes)
        {
            foreach (var version in new[] { LanguageVersion.CSharp9, LanguageVersion.Latest })
            {
                if (version >= shape.Oldest)
                {
                    data.Add(shape, version);
                }
            }
        }
        return data;
    }

    [Fact]
    public void The_corpus_holds_at_least_sixty_shapes_in_every_place_a_base_can_be()
    {
        var all = StageCorpus.Legal().Concat(StageCorpus.Illegal()).ToArray();
        Assert.True(all.Length >= 60, $"{all.Length} shapes");
        Assert.All(Enum.GetValues<BaseIn>(), where => Assert.True(all.Count(s => s.Where == where) >= 20, $"{where}: {all.Count(s => s.Where == where)}"));
        Assert.Equal(all.Length, all.Select(s => s.ToString()).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(LegalShapes))]
    public async Task A_legal_shape_builds_clean_and_runs_exactly_the_marked_stages(StageShape shape, LanguageVersion version)
    {
        var build = await BuildAsync(shape, version);
        var problems = build.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(problems.Length == 0, "Expected a clean build:\n" + string.Join("\n", problems.Select(d => d.ToString())) + "\n\n" + build.Generated);

        var loaded = Load(build);
        try
        {
            var handler = loaded.Create("h");
            var context = new HandlerContext(new ModelManifest { ModelName = "h" }, Path.GetTempPath());
            await handler.InitializeAsync(context, CancellationToken.None);
            Assert.Equal(shape.Answer, await AnswerAsync(handler, Request("x"), context));
            // What the server does first for a per-request preprocess: it is this handler's own stage or none.
            Assert.Equal(shape.Answer!.StartsWith('P'), handler.PreprocessesEachRequest);
            if (handler.PreprocessesEachRequest)
            {
                var preprocessed = await handler.PreprocessAsync(Request("x"), context, CancellationToken.None);
                Assert.True(preprocessed.IsPreprocessed);
                Assert.Equal(shape.Answer, await AnswerAsync(handler, preprocessed, context));
            }
        }
        finally
        {
            loaded.Context.Unload();
        }
    }

    [Theory]
    [MemberData(nameof(IllegalShapes))]
    public async Task An_illegal_shape_gives_exactly_the_expected_diagnostic_where_expected(StageShape shape, LanguageVersion version)
    {
        var build = await BuildAsync(shape, version);
        var errors = build.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        var shown = string.Join("\n", errors.Select(d => d.ToString()));
        var diagnostic = Assert.Single(errors, d => d.Id == shape.Expected);
        if (shape.Expected!.StartsWith("SERVE", StringComparison.Ordinal))
        {
            Assert.True(errors.Length == 1, "Expected only " + shape.Expected + ":\n" + shown);
        }
        else
        {
            Assert.True(errors.All(d => !d.Id.StartsWith("SERVE", StringComparison.Ordinal)), "The compiler's error is enough:\n" + shown);
        }
        var (file, text) = build.MainFile;
        var start = shape.AtInBases ? text.IndexOf(shape.At!, StringComparison.Ordinal) : text.IndexOf(shape.At!, text.IndexOf("namespace App", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{shape.At}' is not in {file}");
        Assert.Equal(file, diagnostic.Location.SourceTree?.FilePath);
        Assert.True(start == diagnostic.Location.SourceSpan.Start,
            $"Expected at {start} ('{text.Substring(start, Math.Min(30, text.Length - start))}'), got '{text.Substring(diagnostic.Location.SourceSpan.Start, Math.Min(30, text.Length - diagnostic.Location.SourceSpan.Start))}': {diagnostic}");
    }

    private static InferenceRequest Request(string body) => new(Encoding.UTF8.GetBytes(body));

    private static async Task<string> AnswerAsync(IHandler handler, InferenceRequest request, HandlerContext context)
    {
        var result = Assert.Single(await handler.HandleAsync([request], context, CancellationToken.None));
        Assert.True(result.IsSuccess, result.ToString());
        return Encoding.UTF8.GetString(result.Body.Span);
    }

    public sealed record Build(Compilation Output, Diagnostic[] Diagnostics, string Generated, (string Path, string Text) MainFile, byte[]? Library);

    private static readonly ConcurrentDictionary<(string, bool, LanguageVersion), byte[]> Libraries = new();

    /// <summary>
    /// Compiles the shape's library (cached: shapes share bases) and app with the generator, then
    /// runs the analyzer over the result as a build does. Fails on a generator exception or on
    /// anything reported inside generated code.
    /// </summary>
    internal static async Task<Build> BuildAsync(StageShape shape, LanguageVersion version)
    {
        var parseOptions = new CSharpParseOptions(version, DocumentationMode.Diagnose);
        byte[]? library = null;
        string[] sources;
        if (shape.Where is BaseIn.Library or BaseIn.LibraryWithInternals)
        {
            library = Libraries.GetOrAdd((shape.Bases, shape.Where == BaseIn.LibraryWithInternals, version), key => CompileLibrary(key.Item1, key.Item2, parseOptions));
            sources = [StageCorpus.Usings + shape.Source];
        }
        else if (shape.Where == BaseIn.OtherFile)
        {
            sources = [StageCorpus.Usings + shape.Source, StageCorpus.Usings + shape.Bases];
        }
        else
        {
            sources = [StageCorpus.Usings + shape.Bases + "\n" + shape.Source];
        }
        var references = library is null ? null : new[] { MetadataReference.CreateFromImage(library) };
        var compilation = GeneratorHarness.Compile(sources, References.App, parseOptions, "TestAssembly", references);
        var (run, output) = GeneratorHarness.Run(compilation);
        var result = run.Results.Single();
        Assert.Null(result.Exception);
        Assert.Empty(run.Diagnostics);

        var generatedTrees = output.SyntaxTrees.Except(compilation.SyntaxTrees).ToHashSet();
        var generated = string.Join("\n\n", result.GeneratedSources.Select(s => s.HintName + ":\n" + s.SourceText));
        var compilerDiagnostics = output.GetDiagnostics();
        var inGenerated = compilerDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && generatedTrees.Contains(tree)).ToArray();
        Assert.True(inGenerated.Length == 0, "Diagnostics inside generated code:\n" + string.Join("\n", inGenerated.Select(d => d.ToString())) + "\n\n" + generated);

        var analyzerDiagnostics = await GeneratorHarness.AnalyzeAsync(output);
        var all = compilerDiagnostics.Concat(analyzerDiagnostics).Where(d => d.Id != "CS1591").ToArray();
        return new Build(output, all, generated, ("Source0.cs", sources[0]), library);
    }

    private static byte[] CompileLibrary(string bases, bool internals, CSharpParseOptions parseOptions)
    {
        var source = StageCorpus.Usings + (internals ? "[assembly: InternalsVisibleTo(\"TestAssembly\")]\n" : "") + bases;
        var compilation = GeneratorHarness.Compile([source], References.Library, parseOptions, internals ? "ShapesWithInternals" : "Shapes");
        var (_, output) = GeneratorHarness.Run(compilation);
        var diagnostics = output.GetDiagnostics().Concat(GeneratorHarness.AnalyzeAsync(output).GetAwaiter().GetResult())
            .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id != "CS1591").ToArray();
        Assert.True(diagnostics.Length == 0, "The library does not build clean:\n" + string.Join("\n", diagnostics.Select(d => d.ToString())));
        using var image = new MemoryStream();
        Assert.True(output.Emit(image).Success);
        return image.ToArray();
    }

    internal sealed record Loaded(AssemblyLoadContext Context, Assembly Assembly)
    {
        /// <summary>A handler made by the generated registration, as the server makes it.</summary>
        public IHandler Create(string name)
        {
            var registration = Assembly.GetTypes().Single(t => t.Name.EndsWith("ServeRegistration", StringComparison.Ordinal));
            var handlers = (IReadOnlyList<HandlerRegistration>)registration.GetProperty("Handlers")!.GetValue(null)!;
            return handlers.Single(h => h.Name == name).Create();
        }

        public IReadOnlyList<HandlerRegistration> Registrations()
        {
            var registration = Assembly.GetTypes().Single(t => t.Name.EndsWith("ServeRegistration", StringComparison.Ordinal));
            return (IReadOnlyList<HandlerRegistration>)registration.GetProperty("Handlers")!.GetValue(null)!;
        }
    }

    /// <summary>Loads the app (and its library) into a collectible context of its own.</summary>
    internal static Loaded Load(Build build)
    {
        using var image = new MemoryStream();
        var emitted = build.Output.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        var context = new ShapeLoadContext(build.Library);
        image.Position = 0;
        return new Loaded(context, context.LoadFromStream(image));
    }

    /// <summary>Resolves the shape's library from its bytes; everything else from the test's own context.</summary>
    private sealed class ShapeLoadContext(byte[]? library) : AssemblyLoadContext("stage-corpus", isCollectible: true)
    {
        private Assembly? _library;

        protected override Assembly? Load(AssemblyName name)
        {
            if (library is null || name.Name is not ("Shapes" or "ShapesWithInternals"))
            {
                return null;
            }
            return _library ??= LoadFromStream(new MemoryStream(library));
        }
    }
}
