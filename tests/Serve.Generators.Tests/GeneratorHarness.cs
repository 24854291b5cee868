using System;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Serve.Generators;

namespace Serve.Generators.Tests;

/// <summary>What a test compilation references.</summary>
public enum References
{
    /// <summary>An app: the BCL, ASP.NET Core, Serve.Server, Serve.Runtime and Serve.Attributes.</summary>
    App,
    /// <summary>A handler library: Serve.Runtime and what it needs, no ASP.NET Core and no Serve.Server.</summary>
    Library,
    /// <summary>Serve's attributes without Serve.Runtime.</summary>
    AttributesOnly,
}

/// <summary>Compiles test sources against the real runtime and runs the generator and analyzer on them.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // Everything this test process runs on: the BCL, ASP.NET Core, Serve.Runtime and Serve.Attributes.
    private static readonly Lazy<MetadataReference[]> AppReferences = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => path.EndsWith(".dll", StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    private static readonly Lazy<MetadataReference[]> LibraryReferences = new(() =>
        AppReferences.Value
            .Where(reference => reference.Display is { } path
                && !Path.GetFileName(path).StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)
                && !Path.GetFileName(path).StartsWith("Serve.Server", StringComparison.Ordinal)
                && !Path.GetFileName(path).StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal))
            .ToArray());

    private static readonly Lazy<MetadataReference[]> AttributesOnlyReferences = new(() =>
        LibraryReferences.Value.Where(reference => Path.GetFileName(reference.Display) != "Serve.Runtime.dll").ToArray());

    public static CSharpCompilation Compile(params string[] sources) => Compile(sources, References.App, ParseOptions);

    public static CSharpCompilation Compile(
        string[] sources, References references, CSharpParseOptions parseOptions, string assemblyName = "TestAssembly", MetadataReference[]? libraries = null) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, parseOptions, path: $"Source{i}.cs")),
            [.. references switch
            {
                References.App => AppReferences.Value,
                References.Library => LibraryReferences.Value,
                _ => AttributesOnlyReferences.Value,
            }, .. libraries ?? []],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));

    public static GeneratorDriver CreateDriver(CSharpParseOptions? parseOptions = null) =>
        CSharpGeneratorDriver.Create(
            [new HandlerGenerator().AsSourceGenerator()],
            parseOptions: parseOptions ?? ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator; fails if the generated code does not compile cleanly with the input (warnings count).</summary>
    public static GeneratorDriverRunResult Generate(string source, References references = References.App)
    {
        var (result, output) = Run(Compile([source], references, ParseOptions));
        var problems = output.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Select(d => d.ToString())
            .ToArray();
        Assert.True(problems.Length == 0, "The generated code does not compile cleanly:\n" + string.Join("\n", problems));
        return result;
    }

    /// <summary>Compiles a compilation that references <paramref name="libraries"/> (e.g. one from <see cref="CompileLibrary"/>).</summary>
    public static CSharpCompilation CompileWith(string[] sources, MetadataReference[] libraries) =>
        Compile(sources, References.App, ParseOptions, libraries: libraries);

    /// <summary>Runs the generator on a compilation that references <paramref name="libraries"/>; fails if the output does not compile cleanly.</summary>
    public static GeneratorDriverRunResult GenerateWith(string source, MetadataReference[] libraries)
    {
        var (result, output) = Run(CompileWith([source], libraries));
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()).ToArray();
        Assert.True(problems.Length == 0, "The generated code does not compile cleanly:\n" + string.Join("\n", problems));
        return result;
    }

    /// <summary>A handler library built from <paramref name="source"/> with the generator, as a reference for another compilation.</summary>
    public static MetadataReference CompileLibrary(string source, string assemblyName)
    {
        var (_, output) = Run(Compile([source], References.Library, ParseOptions, assemblyName));
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return MetadataReference.CreateFromImage(image.ToArray());
    }

    /// <summary>Runs the generator; returns its result and the compilation with its output added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(CSharpCompilation compilation)
    {
        var driver = CreateDriver((CSharpParseOptions)compilation.SyntaxTrees.First().Options)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult(), output);
    }

    public static Task<ImmutableArray<Diagnostic>> AnalyzeAsync(params string[] sources) => AnalyzeAsync(Compile(sources));

    public static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Compilation compilation)
    {
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new HandlerAnalyzer());
        return await compilation.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync();
    }
}
