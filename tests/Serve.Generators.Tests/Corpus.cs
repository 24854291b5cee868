using System.Collections.Generic;
using Microsoft.CodeAnalysis.CSharp;

namespace Serve.Generators.Tests;

/// <summary>
/// A handler shape: legal ones must build clean with the generated code; illegal ones must give
/// <see cref="Expected"/> (a SERVE diagnostic, or the compiler's own error) exactly at the first
/// occurrence of <see cref="At"/>, and nothing of ours besides.
/// </summary>
public sealed record Shape(string Name, string Source, string? Expected = null, string? At = null,
    References References = References.App, LanguageVersion Language = LanguageVersion.Latest, int Occurrence = 1, string? Also = null, string AssemblyName = "TestAssembly")
{
    public override string ToString() => Name;

    /// <summary>Where the diagnostic starts: <see cref="At"/> without its '|', at the '|' if it has one.</summary>
    public int Start
    {
        get
        {
            var text = At!.Replace("|", "");
            var start = -1;
            for (var i = 0; i < Occurrence; i++)
            {
                start = Source.IndexOf(text, start + 1, System.StringComparison.Ordinal);
            }
            return start < 0 ? -1 : start + System.Math.Max(0, At.IndexOf('|'));
        }
    }

    /// <summary>The text the diagnostic's location starts with.</summary>
    public string Target => At!.Substring(At.IndexOf('|') + 1);
}

/// <summary>The corpus: defects of issue 14 and their siblings, legal and illegal.</summary>
public static class Corpus
{
    public const string Usings = """
        using System;
        using System.Collections;
        using System.Collections.Generic;
        using System.Text.Json;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using Serve;
        using Serve.Runtime;

        """;

    private const string Echo = "[Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];";

    private static string Results(string type, string declarations) => $$"""
        namespace Shapes
        {
            {{declarations}}

            [Handler("h")]
            public partial class H
            {
                [Inference] public {{type}}[] Run(IReadOnlyList<InferenceRequest> batch) => new {{type}}[batch.Count];
            }
        }
        """;

    public static IEnumerable<Shape> Legal() =>
    [
        new("inference only, text", $$"""namespace Shapes { [Handler("h")] public partial class H { {{Echo}} } }"""),
        new("per-request preprocess, JSON record", """
            namespace Shapes
            {
                public sealed record Prediction(int Digit, float Probability);
                [Handler("digits")]
                public partial class H
                {
                    [Preprocess] public static float[] Pre(InferenceRequest request) => new float[64];
                    [Inference] public Prediction[] Run(IReadOnlyList<float[]> inputs) => new Prediction[inputs.Count];
                }
            }
            """),
        new("async stages with context and token", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Initialize] public Task Load(HandlerContext context, CancellationToken token) => Task.CompletedTask;
                    [Preprocess] public Task<int> Pre(IReadOnlyList<InferenceRequest> batch, CancellationToken token) => Task.FromResult(batch.Count);
                    [Inference] public ValueTask<int> Run(CancellationToken token, int count, HandlerContext context) => new(count);
                    [Postprocess] public static List<string> Post(int count) => new List<string>(new string[count]);
                }
            }
            """),
        new("a record handler (defect 3)", $$"""namespace Shapes { [Handler("h")] public partial record R { {{Echo}} } }"""),
        new("a sealed record with an all-optional primary constructor", $$"""namespace Shapes { [Handler("h")] public sealed partial record R(int Size = 3) { {{Echo}} } }"""),
        new("namespaces that differ only in case (defect 1)", $$"""
            namespace Models.Vision { [Handler("upper")] public partial class H { {{Echo}} } }
            namespace Models.vision { [Handler("lower")] public partial class H { {{Echo}} } }
            """),
        new("classes that differ only in case (defect 1)", $$"""
            namespace Models { [Handler("upper")] public partial class Handler { {{Echo}} } }
            namespace Models { [Handler("lower")] public partial class handler { {{Echo}} } }
            """),
        new("a namespace that is an escaped keyword (defect 1)", $$"""namespace Acme.@event { [Handler("h")] public partial class H { {{Echo}} } }"""),
        new("a class, a method and a result property named by keywords (defect 5)", """
            namespace Acme.@namespace
            {
                public sealed class @struct { public int @class { get; init; } public string? @default { get; init; } }
                [Handler("h")]
                public partial class @class
                {
                    [Inference] public @struct[] @default(IReadOnlyList<InferenceRequest> @in) => new @struct[@in.Count];
                }
            }
            """),
        new("non-ASCII identifiers", $$"""namespace Modèles { [Handler("h")] public partial class Modèle { {{Echo}} } }"""),
        new("the attributed overload is called, not a helper (defect 2)", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public static float[] Pre(InferenceRequest request) => new float[1];
                    [Inference] public string[] Run(IEnumerable<float[]> inputs) => new string[1];
                    public string[] Run(IReadOnlyList<float[]> inputs) => throw new InvalidOperationException("helper");
                    public string[] Run(object inputs) => throw new InvalidOperationException("helper");
                }
            }
            """),
        new("an overload with an optional parameter beside the stage (defect 2)", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Inference] public static string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                    public static string[] Run(IReadOnlyList<InferenceRequest> batch, int extra = 0) => throw new InvalidOperationException();
                    public static string[] Run<T>(T batch) => throw new InvalidOperationException();
                }
            }
            """),
        new("a generic overload in a base class (defect 2)", """
            namespace Shapes
            {
                public class Base { public string[] Run<T>(T batch) => throw new InvalidOperationException(); }
                [Handler("h")]
                public partial class H : Base
                {
                    [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                }
            }
            """),
        new("an explicit interface implementation as a stage (defect 4)", """
            namespace Shapes
            {
                public interface IRunner { string[] Run(IReadOnlyList<InferenceRequest> batch); }
                [Handler("h")]
                public partial class H : IRunner
                {
                    [Inference] string[] IRunner.Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                }
            }
            """),
        new("an [Obsolete] stage (defect 4)", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Obsolete("use something else")]
                    [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                }
            }
            """),
        new("an [Obsolete] result property and type (defect 4)", "#pragma warning disable CS0612, CS0618\n" + Results("Old", """
            [Obsolete] public sealed class Old { [Obsolete] public int Value { get; init; } public Older? Next { get; init; } }
            [Obsolete("gone")] public sealed class Older { public int Value { get; init; } }
            """)),
        new("an [Obsolete] handler class", $$"""namespace Shapes { [Obsolete] [Handler("h")] public partial class H { {{Echo}} } }"""),
        new("required members set by a [SetsRequiredMembers] constructor (defect 4)", $$"""
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers] public H() { Label = "x"; }
                    public required string Label { get; init; }
                    {{Echo}}
                }
            }
            """),
        new("a constructor whose parameters are all optional (defect 10)", $$"""
            namespace Shapes { [Handler("h")] public partial class H { public H(int size = 3, params string[] names) { } {{Echo}} } }
            """),
        new("[JsonIgnore(Condition = Never)] (defect 9)", Results("R", "public sealed class R { [JsonIgnore(Condition = JsonIgnoreCondition.Never)] public int A { get; init; } [JsonIgnore] public int B { get; init; } }")),
        new("user members named like the old generated helpers (defect 4)", """
            namespace Shapes
            {
                public sealed record P(int A);
                [Handler("h")]
                public partial class H
                {
                    public static void WriteResultJson(int x) { }
                    public void WriteJsonObject() { }
                    public static int WriteResult => 1;
                    [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[batch.Count];
                }
            }
            """),
        new("a nullable output into a nullable input", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public float[]? Pre(IReadOnlyList<InferenceRequest> batch) => null;
                    [Inference] public string[] Run(float[]? input) => new string[1];
                }
            }
            """),
        new("nullable text results (defect 4)", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public string?[] Run(IReadOnlyList<InferenceRequest> batch) => new string?[batch.Count]; } }"""),
        new("nullable JSON results", Results("P?", "public sealed record P(int A);")),
        new("nullable value results", Results("int?", "")),
        new("nullable bytes results", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public List<byte[]?> Run(IReadOnlyList<InferenceRequest> batch) => new List<byte[]?>(); } }"""),
        new("nullable InferenceResult results", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public InferenceResult?[] Run(IReadOnlyList<InferenceRequest> batch) => new InferenceResult?[batch.Count]; } }"""),
        new("C# 9 (defect 6)", """
            namespace Shapes
            {
                public sealed record P(int A, string? B);
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public static int Pre(InferenceRequest request) => 1;
                    [Postprocess] public P[] Post(IReadOnlyList<int> outputs) => new P[outputs.Count];
                    [Explain] public string[] Why(IReadOnlyList<int> inputs) => new string[inputs.Count];
                }
            }
            """, Language: LanguageVersion.CSharp9),
        new("C# 10 with a file-scoped namespace (defect 6)", $$"""
            namespace Shapes;
            [Handler("h")] public partial class H { {{Echo}} }
            """, Language: LanguageVersion.CSharp10),
        new("a JsonSerializerContext", """
            namespace Shapes
            {
                public sealed record Label(string Name);
                public sealed class LabelsContext : JsonSerializerContext
                {
                    public LabelsContext() : base(null) { }
                    public static LabelsContext Default { get; } = new();
                    protected override JsonSerializerOptions? GeneratedSerializerOptions => null;
                    public override System.Text.Json.Serialization.Metadata.JsonTypeInfo? GetTypeInfo(Type type) => null;
                }
                [Handler("h", JsonContext = typeof(LabelsContext))]
                public partial class H { [Inference] public Label[] Run(IReadOnlyList<InferenceRequest> batch) => new Label[batch.Count]; }
            }
            """),
        new("a handler library without ASP.NET Core (defect 8)", """
            namespace Library
            {
                public sealed record P(int A);
                [Handler("lib")] public partial class H { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[batch.Count]; }
            }
            """, References: References.Library),
        new("explain with text", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count];
                    [Explain] public ValueTask<string[]> Why(IReadOnlyList<InferenceRequest> batch) => new(new string[batch.Count]);
                }
            }
            """),
        new("an internal handler in the global namespace", $$"""[Handler("h")] internal partial class H { [Inference] private string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[batch.Count]; }"""),
        new("a private result type nested in the handler", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    private sealed record Secret(int A);
                    [Inference] private Secret[] Run(IReadOnlyList<InferenceRequest> batch) => new Secret[batch.Count];
                }
            }
            """),
        new("dictionaries", Results("Dictionary<string, float>", "")),
        new("a collection with its own GetEnumerator", Results("Bag", """
            public sealed class Bag : IReadOnlyList<int>
            {
                public int this[int index] => index;
                public int Count => 2;
                public IEnumerator<int> GetEnumerator() { yield return 1; yield return 2; }
                IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
            }
            """)),
        new("a struct result", Results("Point", "public struct Point { public int X { get; set; } public int Y { get; set; } }")),
        new("a nullable struct result property", Results("R", "public struct Point { public int X { get; set; } } public sealed class R { public Point? Where { get; init; } }")),
        new("a recursive result type", Results("Node", "public sealed class Node { public string Name { get; init; } = \"\"; public List<Node> Children { get; init; } = new(); public Node? Parent { get; init; } }")),
        new("an inherited result type", Results("Derived", "public class Base { public int A { get; init; } public virtual int V { get; init; } } public sealed class Derived : Base { public int B { get; init; } public override int V { get; init; } public new string? A { get; init; } }")),
        new("enums, guids, dates, chars and bytes", Results("R", "public enum Kind : byte { A, B } public sealed class R { public Kind K { get; init; } public Guid G { get; init; } public DateTime D { get; init; } public DateTimeOffset O { get; init; } public char C { get; init; } public byte[]? Bytes { get; init; } public decimal M { get; init; } public uint U { get; init; } }")),
        new("ReadOnlyMemory<byte> results", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public ReadOnlyMemory<byte>[] Run(IReadOnlyList<InferenceRequest> batch) => new ReadOnlyMemory<byte>[batch.Count]; } }"""),
        new("a partial [Initialize] with a body", $$"""
            namespace Shapes { [Handler("h")] public partial class H { [Initialize] partial void Load(); partial void Load() { } {{Echo}} } }
            """),
        new("a handler name with dots, dashes and underscores", $$"""namespace Shapes { [Handler("a.b-c_1")] public partial class H { {{Echo}} } }"""),
        new("user types named Serve, Microsoft and IHandler", $$"""
            namespace Acme
            {
                public class Serve { }
                public class Microsoft { }
                public interface IHandler { }
                public class Global { }
                [Handler("h")] public partial class H { {{Echo}} }
            }
            """),
        new("a user type named var", """
            #pragma warning disable CS8981 // A lowercase type name: legal, and exactly what this checks.
            namespace Shapes
            {
                public sealed class var { }
                public sealed record P(List<int> Items, Dictionary<string, string?> Map);
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public static float[] Pre(InferenceRequest request) => new float[1];
                    [Inference] public P[] Run(IReadOnlyList<float[]> inputs) => new P[inputs.Count];
                    [Explain] public string[] Why(IReadOnlyList<float[]> inputs) => new string[inputs.Count];
                }
            }
            """),
        new("a handler implementing an IHandler interface of the user's own", $$"""
            namespace Acme
            {
                public interface IHandler { string Name { get; } }
                [Handler("h")] public partial class H : IHandler { public string Name => "h"; {{Echo}} }
            }
            """),
        new("a user type where the old registry lived", $$"""
            namespace Serve.Generated { public class ServeHandlerRegistry { } }
            namespace Microsoft.Extensions.DependencyInjection { public static class ServeHandlersServiceCollectionExtensions { } }
            namespace Shapes { [Handler("h")] public partial class H { {{Echo}} } }
            """),
        new("a user method named HandleAsync", $$"""
            namespace Shapes { [Handler("h")] public partial class H { public Task HandleAsync() => Task.CompletedTask; public bool CanExplain => true; {{Echo}} } }
            """),
        new("two handlers sharing result types", """
            namespace Shapes
            {
                public sealed record P(int A, Q Inner);
                public sealed record Q(string B);
                [Handler("one")] public partial class One { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[batch.Count]; }
                [Handler("two")] public partial class Two { [Inference] public Q[] Run(IReadOnlyList<InferenceRequest> batch) => new Q[batch.Count]; }
            }
            """),
        new("a per-request preprocess returning ValueTask", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public ValueTask<string> Pre(InferenceRequest request) => new("x");
                    [Inference] public string[] Run(IReadOnlyList<string> inputs) => new string[inputs.Count];
                }
            }
            """),
        new("a handler in a #nullable disable file", """
            #nullable disable
            namespace Shapes
            {
                public sealed class P { public string Name { get; set; } public List<string> Tags { get; set; } }
                [Handler("h")] public partial class H { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[batch.Count]; }
            }
            """),
        new("JSON names with characters to escape", Results("R", "public sealed class R { [JsonPropertyName(\"a \\\"quoted\\\" <name>\")] public int A { get; init; } [JsonPropertyName(\"é\")] public int B { get; init; } }")),
        new("a postprocess taking what a default inference gives", """
            namespace Shapes
            {
                [Handler("h")]
                public partial class H
                {
                    [Preprocess] public static float[] Pre(InferenceRequest request) => new float[1];
                    [Postprocess] public static string[] Post(float[][] logits) => new string[logits.Length];
                }
            }
            """),
        new("a handler with a static constructor and an [Obsolete] constructor", $$"""
            namespace Shapes { [Handler("h")] public partial class H { static H() { } [Obsolete] public H() { } {{Echo}} } }
            """),
        new("an unsafe handler class", $$"""namespace Shapes { [Handler("h")] public unsafe partial class H { public int* Pointer; {{Echo}} } }"""),
        new("nullable objects in collections", Results("R", "public sealed record P(int A); public sealed class R { public List<P?> Items { get; init; } = new(); public Dictionary<string, P?> Map { get; init; } = new(); public P?[]?[] Jagged { get; init; } = new P?[0][]; }")),
        new("generic result types", Results("Box<int>", "public sealed class Box<T> { public T? Item { get; init; } public Box<string>? Other { get; init; } }")),
        new("an app assembly named Serve, whose own registration is AddServeHandlers", $$"""namespace Shapes { [Handler("h")] public partial class H { {{Echo}} } }""", AssemblyName: "Serve"),
        new("an assembly name that is not an identifier", $$"""namespace Shapes { [Handler("h")] public partial class H { {{Echo}} } }""", AssemblyName: "3d-models.v2"),
        new("[JsonRequired] and a public field", Results("R", "public sealed class R { [JsonRequired] public int A { get; init; } public int Field; }")),
    ];

    public static IEnumerable<Shape> Illegal() =>
    [
        new("SERVE001 not partial", $$"""namespace Shapes { [Handler("h")] public class Plain { {{Echo}} } }""", "SERVE001", "Plain"),
        new("SERVE002 stage outside a handler", "namespace Shapes { public class NotAHandler { [Preprocess] public int Prepare(InferenceRequest r) => 0; } }", "SERVE002", "Prepare"),
        new("SERVE003 two methods for one stage", $$"""
            namespace Shapes { [Handler("h")] public partial class H { {{Echo}} [Inference] public string[] Again(IReadOnlyList<InferenceRequest> batch) => new string[0]; } }
            """, "SERVE003", "Again"),
        new("SERVE004 types that do not fit", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public float[] Pre(IReadOnlyList<InferenceRequest> batch) => new float[1];
                [Inference] public string[] Run(int[] input) => new string[1]; } }
            """, "SERVE004", "Run"),
        new("SERVE004 a nullable output into a non-null input (defect 4)", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public float[]? Pre(IReadOnlyList<InferenceRequest> batch) => null;
                [Inference] public string[] Run(float[] input) => new string[1]; } }
            """, "SERVE004", "Run"),
        new("SERVE004 nullable elements into non-null ones (defect 4)", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public string?[] Pre(IReadOnlyList<InferenceRequest> batch) => new string?[1];
                [Inference] public string[] Run(IReadOnlyList<string> input) => new string[1]; } }
            """, "SERVE004", "Run"),
        new("SERVE004 a nullable per-request output", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public Task<string?> Pre(InferenceRequest request) => Task.FromResult<string?>(null);
                [Inference] public string[] Run(IReadOnlyList<string> input) => new string[1]; } }
            """, "SERVE004", "Run"),
        new("SERVE004 a result that is not a list", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public string Run(IReadOnlyList<InferenceRequest> batch) => ""; } }""", "SERVE004", "Run"),
        new("SERVE004 a nullable list of results", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public List<string>? Run(IReadOnlyList<InferenceRequest> batch) => null; } }""", "SERVE004", "Run"),
        new("SERVE004 a nullable list from postprocess", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Inference] public int Run(IReadOnlyList<InferenceRequest> batch) => 1;
                [Postprocess] public Task<string[]?> Post(int count) => Task.FromResult<string[]?>(null); } }
            """, "SERVE004", "?> |Post"),
        new("SERVE005 async void initialize (defect 10)", $$"""namespace Shapes { [Handler("h")] public partial class H { [Initialize] public async void Load() => await Task.Yield(); {{Echo}} } }""", "SERVE005", "Load"),
        new("SERVE005 a body-less partial initialize (defect 10)", $$"""namespace Shapes { [Handler("h")] public partial class H { [Initialize] partial void Load(); {{Echo}} } }""", "SERVE005", "Load"),
        new("SERVE005 an 'in' parameter (defect 10)", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public string[] Run(in IReadOnlyList<InferenceRequest> batch) => new string[1]; } }""", "SERVE005", "Run"),
        new("SERVE005 a 'ref readonly' parameter (defect 10)", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public string[] Run(ref readonly IReadOnlyList<InferenceRequest> batch) => new string[1]; } }""", "SERVE005", "Run"),
        new("SERVE005 a property accessor", """namespace Shapes { [Handler("h")] public partial class H { public string[] Run { [Inference] get => new string[1]; } } }""", "SERVE005", "get"),
        new("SERVE005 a ref struct input", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public float[] Pre(IReadOnlyList<InferenceRequest> batch) => new float[1];
                [Inference] public string[] Run(Span<float> input) => new string[1]; } }
            """, "SERVE005", "Run"),
        new("SERVE005 an [Obsolete] error stage", """namespace Shapes { [Handler("h")] public partial class H { [Obsolete("no", true)] [Inference] public string[] Run(IReadOnlyList<InferenceRequest> batch) => new string[1]; } }""", "SERVE005", "Run"),
        new("SERVE005 a nullable task", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public Task<string[]>? Run(IReadOnlyList<InferenceRequest> batch) => null; } }""", "SERVE005", "Run"),
        new("SERVE005 a dynamic input", """
            namespace Shapes { [Handler("h")] public partial class H {
                [Preprocess] public float[] Pre(IReadOnlyList<InferenceRequest> batch) => new float[1];
                [Inference] public string[] Run(dynamic input) => new string[1]; } }
            """, "SERVE005", "Run"),
        new("SERVE005 an initialize with an input", $$"""namespace Shapes { [Handler("h")] public partial class H { [Initialize] public void Load(int x) { } {{Echo}} } }""", "SERVE005", "Load"),
        new("SERVE006 an object property", Results("R", "public sealed class R { public object Any { get; init; } = new(); }"), "SERVE006", "Run"),
        new("SERVE006 an enum with [JsonConverter] (defect 9)", Results("R", "[JsonConverter(typeof(JsonStringEnumConverter))] public enum Color { Red } public sealed class R { public Color C { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 JsonElement (defect 9)", Results("R", "public sealed class R { public JsonElement E { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 JsonNode (defect 9)", Results("R", "public sealed class R { public System.Text.Json.Nodes.JsonNode? N { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a list of KeyValuePair (defect 9)", Results("R", "public sealed class R { public List<KeyValuePair<string, int>> Pairs { get; init; } = new(); }"), "SERVE006", "Run"),
        new("SERVE006 colliding names (defect 9)", Results("R", "public sealed class R { public int Name { get; init; } [JsonPropertyName(\"name\")] public int Other { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 names colliding without regard to case (defect 9)", Results("R", "public sealed class R { public int Value { get; init; } public int value { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a [JsonInclude] field (defect 9)", Results("R", "public sealed class R { [JsonInclude] public int Field; }"), "SERVE006", "Run"),
        new("SERVE006 a [JsonInclude] private property (defect 9)", Results("R", "public sealed class R { [JsonInclude] public int P { private get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 [JsonExtensionData] (defect 9)", Results("R", "public sealed class R { [JsonExtensionData] public Dictionary<string, object>? Extra { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 [JsonPropertyOrder] (defect 9)", Results("R", "public sealed class R { [JsonPropertyOrder(1)] public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 [JsonNumberHandling] (defect 9)", Results("R", "public sealed class R { [JsonNumberHandling(JsonNumberHandling.WriteAsString)] public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 [JsonNumberHandling] on the type", Results("R", "[JsonNumberHandling(JsonNumberHandling.WriteAsString)] public sealed class R { public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 [JsonPolymorphic]", Results("R", "[JsonPolymorphic] [JsonDerivedType(typeof(R))] public class R { public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a non-generic collection (defect 9)", Results("R", "public sealed class R { public ArrayList Items { get; init; } = new(); }"), "SERVE006", "Run"),
        new("SERVE006 a non-generic enumerable class (defect 9)", Results("Items", "public sealed class Items : IEnumerable { public int Count { get; init; } public IEnumerator GetEnumerator() => Array.Empty<int>().GetEnumerator(); }"), "SERVE006", "Run"),
        new("SERVE006 a conditional [JsonIgnore]", Results("R", "public sealed class R { [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 an [Obsolete] error property", Results("R", "public sealed class R { [Obsolete(\"no\", true)] public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a multi-dimensional array", Results("R", "public sealed class R { public int[,] Grid { get; init; } = new int[1, 1]; }"), "SERVE006", "Run"),
        new("SERVE006 DateOnly", Results("R", "public sealed class R { public DateOnly Day { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a generic type that holds ever larger versions of itself", Results("Grow<int>", "public sealed class Grow<T> { public Grow<Grow<T>>? Next { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a user attribute in System.Text.Json.Serialization", """
            namespace System.Text.Json.Serialization { public sealed class Odd : Attribute { } }
            """ + Results("R", "public sealed class R { [System.Text.Json.Serialization.Odd] public int A { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 a tuple", Results("R", "public sealed class R { public (int, int) Pair { get; init; } }"), "SERVE006", "Run"),
        new("SERVE006 JsonContext that is not a JsonSerializerContext (defect 4)", """
            namespace Shapes
            {
                public sealed record Label(string Name);
                public sealed class NotAContext { public static NotAContext Default { get; } = new(); }
                [Handler("h", JsonContext = typeof(NotAContext))]
                public partial class H { [Inference] public Label[] Run(IReadOnlyList<InferenceRequest> batch) => new Label[batch.Count]; }
            }
            """, "SERVE006", "JsonContext = typeof(NotAContext)"),
        new("SERVE006 JsonContext that is an array type", """
            namespace Shapes { public sealed record P(int A); [Handler("h", JsonContext = typeof(int[]))] public partial class H { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[1]; } }
            """, "SERVE006", "JsonContext = typeof(int[])"),
        new("SERVE006 JsonContext that is an open generic type", """
            namespace Shapes { public sealed record P(int A); [Handler("h", JsonContext = typeof(List<>))] public partial class H { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[1]; } }
            """, "SERVE006", "JsonContext = typeof(List<>)"),
        new("SERVE007 names equal without regard to case (defect 7)", $$"""
            namespace Shapes
            {
                [Handler("Digits")] public partial class A { {{Echo}} }
                [Handler("digits")] public partial class B { {{Echo}} }
            }
            """, "SERVE007", "Handler(\"digits\")"),
        new("SERVE008 nested", $$"""namespace Shapes { public partial class Outer { [Handler("h")] public partial class Inner { {{Echo}} } } }""", "SERVE008", "Inner"),
        new("SERVE008 generic", $$"""namespace Shapes { [Handler("h")] public partial class G<T> { {{Echo}} } }""", "SERVE008", "G"),
        new("SERVE008 a file class (defect 4)", $$"""namespace Shapes { [Handler("h")] file partial class F { {{Echo}} } }""", "SERVE008", "F"),
        new("SERVE008 IHandler implemented by hand", $$"""
            namespace Shapes
            {
                [Handler("h")]
                public partial class H : Serve.Runtime.IHandler
                {
                    {{Echo}}
                    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken) => default;
                    public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) => default;
                    public bool CanExplain => false;
                    public ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) => default;
                }
            }
            """, "SERVE008", "class |H"),
        new("SERVE008 an [Obsolete] error handler class", $$"""namespace Shapes { [Obsolete("no", true)] [Handler("h")] public partial class H { {{Echo}} } }""", "SERVE008", "class |H"),
        new("SERVE009 neither inference nor postprocess", """namespace Shapes { [Handler("h")] public partial class OnlyPre { [Preprocess] public int Pre(IReadOnlyList<InferenceRequest> batch) => 1; } }""", "SERVE009", "OnlyPre"),
        new("SERVE010 '.' (defect 7)", $$"""namespace Shapes { [Handler(".")] public partial class H { {{Echo}} } }""", "SERVE010", "Handler(\".\")"),
        new("SERVE010 '..' (defect 7)", $$"""namespace Shapes { [Handler("..")] public partial class H { {{Echo}} } }""", "SERVE010", "Handler(\"..\")"),
        new("SERVE010 a leading dash", $$"""namespace Shapes { [Handler("-h")] public partial class H { {{Echo}} } }""", "SERVE010", "Handler(\"-h\")"),
        new("SERVE010 an empty name", $$"""namespace Shapes { [Handler("")] public partial class H { {{Echo}} } }""", "SERVE010", "Handler(\"\")"),
        new("SERVE010 a slash", $$"""namespace Shapes { [Handler("a/b")] public partial class H { {{Echo}} } }""", "SERVE010", "Handler(\"a/b\")"),
        new("SERVE011 a required constructor argument", $$"""namespace Shapes { [Handler("h")] public partial class H { public H(int size) { } {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE011 required members (defect 4)", $$"""namespace Shapes { [Handler("h")] public partial class H { public required string Label { get; init; } {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE011 abstract", $$"""namespace Shapes { [Handler("h")] public abstract partial class H { {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE011 a private constructor", $$"""namespace Shapes { [Handler("h")] public partial class H { private H() { } {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE011 an [Obsolete] error constructor", $$"""namespace Shapes { [Handler("h")] public partial class H { [Obsolete("no", true)] public H() { } {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE011 two constructors callable without arguments", $$"""namespace Shapes { [Handler("h")] public partial class H { public H(int a = 0) { } public H(string b = "") { } {{Echo}} } }""", "SERVE011", "class |H"),
        new("SERVE012 C# 8 (defect 6)", $$"""namespace Shapes { [Handler("h")] public partial class H { {{Echo}} } }""", "SERVE012", "Handler(\"h\")", Language: LanguageVersion.CSharp8),
        new("SERVE014 the attributes without Serve.Runtime (defect 3)", """namespace Shapes { [Handler("h")] public partial class H { } }""", "SERVE014", "Handler(\"h\")", References.AttributesOnly),
        new("[Handler(null)] is the compiler's error alone (defect 10)", $$"""namespace Shapes { [Handler(null)] public partial class H { {{Echo}} } }""", "CS8625", "null"),
        new("[Handler] without a name is the compiler's error alone", $$"""namespace Shapes { [Handler] public partial class H { {{Echo}} } }""", "CS7036", "Handler"),
        new("[Handler] on a struct is the compiler's error alone", $$"""namespace Shapes { [Handler("h")] public partial struct S { {{Echo}} } }""", "CS0592", "Handler"),
        new("an unknown stage input type is the compiler's error alone", """namespace Shapes { [Handler("h")] public partial class H { [Inference] public string[] Run(Missing input) => new string[1]; } }""", "CS0246", "Missing"),
        new("an unknown JsonContext is the compiler's error alone", """
            namespace Shapes { public sealed record P(int A); [Handler("h", JsonContext = typeof(Missing))] public partial class H { [Inference] public P[] Run(IReadOnlyList<InferenceRequest> batch) => new P[1]; } }
            """, "CS0246", "Missing"),
    ];
}
