using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis.CSharp;

namespace Serve.Generators.Tests;

/// <summary>Where the base classes of a shape live.</summary>
public enum BaseIn
{
    SameFile,
    OtherFile,
    /// <summary>Another assembly, without InternalsVisibleTo.</summary>
    Library,
    /// <summary>Another assembly that gives the app its internals.</summary>
    LibraryWithInternals,
}

/// <summary>
/// An inheritance, visibility, interface or overload shape. <see cref="Bases"/> holds the base
/// classes (placed as <see cref="Where"/> says), <see cref="Source"/> the app's handlers. A legal
/// shape answers a request whose body is "x" with <see cref="Answer"/>: every stage appends its
/// own tag, so the answer says which methods ran. An illegal one gives exactly
/// <see cref="Expected"/> at the first occurrence of <see cref="At"/> in <see cref="Source"/>
/// (or in <see cref="Bases"/> when they are in the same compilation and <see cref="AtInBases"/>).
/// </summary>
public sealed record StageShape(
    string Name, string Bases, string Source, BaseIn Where = BaseIn.SameFile, string? Answer = null,
    string? Expected = null, string? At = null, bool AtInBases = false, LanguageVersion Oldest = LanguageVersion.CSharp9)
{
    public override string ToString() => $"{Name} ({Where})";
}

/// <summary>
/// The stage corpus of issue 21. Tags: P per-request preprocess, B batch preprocess, I inference,
/// O postprocess, each followed by the class that ran it ("PD" is the derived class's per-request
/// preprocess; "IB" the base's inference).
/// </summary>
public static class StageCorpus
{
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Runtime.CompilerServices;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using Serve;
        using Serve.Runtime;
        using static System.Text.Encoding;

        """;

    private static string PerRequest(string tag, string modifiers = "public virtual", string name = "Pre") =>
        $"[Preprocess] {modifiers} string {name}(InferenceRequest r) => \"P{tag}:\" + UTF8.GetString(r.Body.ToArray());";

    private static string Batch(string tag, string modifiers = "public virtual", string name = "PreAll") =>
        $"[Preprocess] {modifiers} IReadOnlyList<string> {name}(IReadOnlyList<InferenceRequest> b) => b.Select(r => \"B{tag}:\" + UTF8.GetString(r.Body.ToArray())).ToList();";

    private static string Inference(string tag, string modifiers = "public virtual", string name = "Run") =>
        $"[Inference] {modifiers} string[] {name}(IReadOnlyList<string> xs) => xs.Select(x => x + \"|I{tag}\").ToArray();";

    private static string Post(string tag, string modifiers = "public virtual", string name = "Post") =>
        $"[Postprocess] {modifiers} string[] {name}(string[] xs) => xs.Select(x => x + \"|O{tag}\").ToArray();";

    private const string Load = "[Initialize] public void Load() { }";

    private static string Base(string body, string header = "public class Base") => $$"""
        namespace Shapes
        {
            {{header}}
            {
                {{Load}}
                {{body}}
            }
        }
        """;

    private static string Handler(string body, string header = "public partial class H : Base") => $$"""
        namespace App
        {
            using Shapes;

            [Handler("h")]
            {{header}}
            {
                {{body}}
            }
        }
        """;

    /// <summary>Legal shapes that hold in every place a base can be: same file, another file, another assembly with and without its internals.</summary>
    private static IEnumerable<(string Name, string Bases, string Source, string Answer)> Portable() =>
    [
        ("derived overrides the base's per-request preprocess",
            Base(PerRequest("B") + Inference("B") + Post("B")),
            Handler("public override string Pre(InferenceRequest r) => \"PD:\" + UTF8.GetString(r.Body.ToArray());"),
            "PD:x|IB|OB"),
        ("derived swaps a per-request preprocess for a batch one (defect 1)",
            Base(PerRequest("B") + Inference("B") + Post("B")),
            Handler(Batch("D")),
            "BD:x|IB|OB"),
        ("derived swaps a batch preprocess for a per-request one",
            Base(Batch("B") + Inference("B") + Post("B")),
            Handler(PerRequest("D")),
            "PD:x|IB|OB"),
        ("a [Handler] base with a per-request preprocess, derived with a batch one (defect 1)",
            Base(PerRequest("B") + Inference("B") + Post("B"), "[Handler(\"base\")] public partial class Base"),
            Handler(Batch("D")),
            "BD:x|IB|OB"),
        ("a [Handler] base overridden in postprocess only",
            Base(Batch("B") + Inference("B") + Post("B"), "[Handler(\"base\")] public partial class Base"),
            Handler("public override string[] Post(string[] xs) => xs.Select(x => x + \"|OD\").ToArray();"),
            "BB:x|IB|OD"),
        ("an abstract base with an abstract inference",
            Base(PerRequest("B") + "[Inference] public abstract string[] Run(IReadOnlyList<string> xs);", "public abstract class Base"),
            Handler("public override string[] Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|ID\").ToArray();"),
            "PB:x|ID"),
        ("a generic base whose stage takes T",
            Base(Batch("B") + "[Inference] public string[] Run(IReadOnlyList<T> xs) => xs.Select(x => Show(x) + \"|IG\").ToArray(); protected virtual string Show(T x) => x?.ToString() ?? \"\";", "public class Base<T>"),
            Handler("", "public sealed partial class H : Base<string>"),
            "BB:x|IG"),
        ("three levels, one stage from each",
            Base(PerRequest("A")) + Base(Inference("M"), "public class Middle : Base").Replace(Load, "") ,
            Handler(Post("D"), "public partial class H : Middle"),
            "PA:x|IM|OD"),
        ("per-request, then batch, then per-request again down the chain",
            Base(PerRequest("A") + Inference("A")) + Base(Batch("M"), "public class Middle : Base").Replace(Load, ""),
            Handler(PerRequest("D", "public override", "Pre"), "public partial class H : Middle"),
            "PD:x|IA"),
        ("a helper overload in the derived class beside the base's inference (defect 2)",
            Base(Batch("B") + Inference("B", "public")),
            Handler("public string[] Run(IEnumerable<string> xs) => xs.Select(x => x + \"|HELPER\").ToArray();"),
            "BB:x|IB"),
        ("an optional-parameter overload in the derived class (defect 2)",
            Base(Batch("B") + Inference("B", "public")),
            Handler("public string[] Run(IReadOnlyList<string> xs, int n = 0) => xs.Select(x => x + \"|HELPER\").ToArray();"),
            "BB:x|IB"),
        ("a static helper beside a static base stage (defect 2)",
            Base(Batch("B") + Inference("B", "public static")),
            Handler("public static string[] Run(IEnumerable<string> xs) => xs.Select(x => x + \"|HELPER\").ToArray();"),
            "BB:x|IB"),
        ("an instance stage with a static helper of its name (CS0120, defect 2)",
            Base(Batch("B") + Inference("B", "public")),
            Handler("public static string[] Run(IEnumerable<string> xs) => xs.Select(x => x + \"|HELPER\").ToArray();"),
            "BB:x|IB"),
        ("a new delegate field named like the stage (defect 2)",
            Base(Batch("B") + Inference("B", "public")),
            Handler("public new Func<IReadOnlyList<string>, string[]> Run = xs => xs.Select(x => x + \"|HELPER\").ToArray();"),
            "BB:x|IB"),
        ("a covariant-return override feeding the derived postprocess (defect 7)",
            Base(Batch("B") + "[Inference] public virtual IReadOnlyList<string> Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|IB\").ToArray();"),
            Handler("public override string[] Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|ID\").ToArray();" + Post("D", "public", "Post")),
            "BB:x|ID|OD"),
        ("a protected stage with nothing of its name nearer the handler",
            Base(Batch("B") + Inference("B", "protected")),
            Handler(""),
            "BB:x|IB"),
        ("a protected internal stage",
            Base(Batch("B") + Inference("B", "protected internal")),
            Handler(""),
            "BB:x|IB"),
        ("an explicit interface implementation in the base (defect 3)",
            "namespace Shapes { public interface IRun { string[] Run(IReadOnlyList<string> xs); } }\n"
                + Base(Batch("B") + "[Inference] string[] IRun.Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|IE\").ToArray();", "public class Base : IRun"),
            Handler(""),
            "BB:x|IE"),
        ("a generic Post<T> beside the postprocess (defect 7)",
            Base(Batch("B") + Inference("B") + Post("B", "public")),
            Handler("public T[] Post<T>(T[] xs) => xs;"),
            "BB:x|IB|OB"),
        ("a sealed handler over a new stage with the attribute in the middle",
            Base(Batch("A") + Inference("A", "public")) + Base(Inference("M", "public new"), "public class Middle : Base").Replace(Load, ""),
            Handler("", "public sealed partial class H : Middle"),
            "BA:x|IM"),
        ("a non-abstract base without [Handler] (no SERVE002, defect 7)",
            Base(Batch("B") + Inference("B")),
            Handler(Post("D", "public", "Post")),
            "BB:x|IB|OD"),
    ];

    public static IEnumerable<StageShape> Legal()
    {
        foreach (var (name, bases, source, answer) in Portable())
        {
            foreach (var where in new[] { BaseIn.SameFile, BaseIn.OtherFile, BaseIn.Library, BaseIn.LibraryWithInternals })
            {
                yield return new StageShape(name, bases, source, where, answer);
            }
        }

        // Visibility that only holds in one assembly, or with its internals.
        yield return new("an internal stage in the same assembly", Base(Batch("B") + Inference("B", "internal")), Handler(""), BaseIn.SameFile, "BB:x|IB");
        yield return new("an internal stage with InternalsVisibleTo (defect 3)", Base(Batch("B") + Inference("B", "internal")), Handler(""), BaseIn.LibraryWithInternals, "BB:x|IB");
        yield return new("a [Handler] base with its internals: no CS0108 (defect 5)",
            Base(Batch("B") + Inference("B"), "[Handler(\"base\")] public partial class Base"),
            Handler("public override string[] Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|ID\").ToArray();"), BaseIn.LibraryWithInternals, "BB:x|ID");
        yield return new("Base<T> whose overloads collapse, the stage being the concrete one",
            Base(Batch("B") + "[Inference] public string[] Run(IReadOnlyList<string> xs) => xs.Select(x => x + \"|IB\").ToArray(); public string[] Run(IReadOnlyList<T> xs) => new string[xs.Count];", "public class Base<T>"),
            Handler("", "public partial class H : Base<string>"), BaseIn.SameFile, "BB:x|IB");
        yield return new("a record handler over a record base",
            Base(Batch("B") + Inference("B"), "public record Base"), Handler(Post("D", "public", "Post"), "public partial record H : Base"), BaseIn.SameFile, "BB:x|IB|OD");
        yield return new("user types under a Microsoft namespace (defect 7)",
            "namespace Shapes { } namespace Microsoft.Acme { public sealed class Answer { public string Text { get; init; } = \"\"; } }",
            Handler("[Inference] public Microsoft.Acme.Answer[] Run(IReadOnlyList<InferenceRequest> b) => b.Select(r => new Microsoft.Acme.Answer { Text = \"IM:\" + UTF8.GetString(r.Body.ToArray()) }).ToArray(); " + Load, "public partial class H"),
            BaseIn.SameFile, "{\"text\":\"IM:x\"}");
        yield return new("a result type chain of 67 types (defect 7)",
            "namespace Shapes { " + string.Concat(Enumerable.Range(0, 67).Select(i => i < 66
                ? $"public sealed class R{i} {{ public string Tag {{ get; init; }} = \"\"; public R{i + 1}? Next {{ get; init; }} }} "
                : $"public sealed class R{i} {{ public string Tag {{ get; init; }} = \"\"; }} ")) + "}",
            Handler("[Inference] public R0[] Run(IReadOnlyList<InferenceRequest> b) => b.Select(r => new R0 { Tag = \"I67:\" + UTF8.GetString(r.Body.ToArray()) }).ToArray(); " + Load, "public partial class H"),
            BaseIn.SameFile, "{\"tag\":\"I67:x\",\"next\":null}");
    }

    public static IEnumerable<StageShape> Illegal() =>
    [
        new("a protected stage that a helper overload takes the call from (defect 2)",
            Base(Batch("B") + Inference("B", "protected")),
            Handler("public string[] Run(IEnumerable<string> xs) => new string[0];"),
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("a protected stage beside a static helper (CS0120 otherwise)",
            Base(Batch("B") + Inference("B", "protected")),
            Handler("public static string[] Run(IEnumerable<string> xs) => new string[0];"),
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("a protected stage hidden by a new delegate field",
            Base(Batch("B") + Inference("B", "protected")),
            Handler("public new Func<IReadOnlyList<string>, string[]> Run = xs => new string[0];"),
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("Base<T> whose overloads collapse onto the stage (defect 2)",
            Base(Batch("B") + "[Inference] public string[] Run(IReadOnlyList<T> xs) => new string[xs.Count]; public string[] Run(IReadOnlyList<string> xs) => new string[0];", "public class Base<T>"),
            Handler("", "public partial class H : Base<string>"),
            Expected: "SERVE005", At: "Run(IReadOnlyList<T> xs)", AtInBases: true),
        new("a protected stage in another assembly with a helper overload",
            Base(Batch("B") + Inference("B", "protected")),
            Handler("public string[] Run(IEnumerable<string> xs) => new string[0];"), BaseIn.Library,
            Expected: "SERVE005", At: "H : Base"),
        new("an internal stage of another assembly with its internals, hidden by a new method",
            Base(Batch("B") + Inference("B", "internal")),
            Handler("public new string[] Run(IReadOnlyList<string> xs) => new string[0];"), BaseIn.LibraryWithInternals,
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs) => new"),
        new("a private stage in a base",
            Base(Batch("B") + Inference("B", "private")),
            Handler(""),
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("an explicit interface implementation the handler implements again (defect 3)",
            "namespace Shapes { public interface IRun { string[] Run(IReadOnlyList<string> xs); } }\n"
                + Base(Batch("B") + "[Inference] string[] IRun.Run(IReadOnlyList<string> xs) => new string[0];", "public class Base : IRun"),
            Handler("public string[] Run(IReadOnlyList<string> xs) => new string[0];", "public partial class H : Base, IRun"),
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs) => new string[0];", AtInBases: true),
        new("a stage on an interface's default method (defect 3)",
            "namespace Shapes { public interface IRun { [Inference] string[] Run(IReadOnlyList<string> xs) => new string[0]; } }\n" + Base(Batch("B") + Inference("B"), "public class Base : IRun"),
            Handler(""),
            Expected: "SERVE002", At: "Run(IReadOnlyList<string> xs) => new", AtInBases: true),
        new("a stage on a static virtual interface member (defect 3)",
            "namespace Shapes { public interface IRun { [Inference] static virtual string[] Run(IReadOnlyList<string> xs) => new string[0]; } }\n" + Base(Batch("B") + Inference("B")),
            Handler(""),
            Expected: "SERVE002", At: "Run(IReadOnlyList<string> xs) => new", AtInBases: true, Oldest: LanguageVersion.CSharp11),
        new("a stage on a sealed class no handler derives from",
            Base(Inference("S", "public"), "public sealed class Stray").Replace(Load, ""),
            Handler(Load + Batch("D") + Inference("D"), "public partial class H"),
            Expected: "SERVE002", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("a bad base stage shared by two handlers is reported once (defect 7)",
            Base(Batch("B") + "[Inference] public void Run(IReadOnlyList<string> xs) { }"),
            Handler("") + "\nnamespace App { [Handler(\"h2\")] public partial class H2 : Shapes.Base { } }",
            Expected: "SERVE005", At: "Run(IReadOnlyList<string> xs)", AtInBases: true),
        new("a handler nested in a generic class gets one SERVE008 (defect 7)",
            Base(Batch("B") + Inference("B")),
            "namespace App { public partial class Outer<T> { [Handler(\"h\")] public partial class H : Shapes.Base { } } }",
            Expected: "SERVE008", At: "H : Shapes"),
        new("a handler named like a generated member (defect 4)",
            Base(Batch("B") + Inference("B")),
            Handler("", "public partial class ServeOpenApiResponse : Base"),
            Expected: "SERVE008", At: "ServeOpenApiResponse : Base"),
        new("a handler name with a final newline (defect 4)",
            Base(Batch("B") + Inference("B")),
            Handler("").Replace("[Handler(\"h\")]", "[Handler(\"digits\\n\")]"),
            Expected: "SERVE010", At: "Handler(\"digits"),
        new("a [Handler] base with its own error: the derived handler's code has no CS0109 (defect 5)",
            Base(Batch("B"), "[Handler(\"base\")] public partial class Base"),
            Handler(Inference("D")),
            Expected: "SERVE009", At: "Base", AtInBases: true),
        new("an explicit implementation of a member the interface lacks: the compiler's CS0539 alone (defect 7)",
            "namespace Shapes { public interface IRun { } }\n" + Base(Batch("B") + Inference("B")),
            Handler("[Postprocess] string[] IRun.Post(string[] xs) => xs;", "public partial class H : Base, IRun"),
            Expected: "CS0539", At: "Post(string[] xs) => xs"),
        new("an unknown type in a result property: the compiler's CS0246 alone (defect 7)",
            "namespace Shapes { public sealed class Answer { public Missing? M { get; init; } } }",
            Handler("[Inference] public Answer[] Run(IReadOnlyList<InferenceRequest> b) => new Answer[b.Count];", "public partial class H"),
            Expected: "CS0246", At: "Missing", AtInBases: true),
        new("an unknown base class: the compiler's CS0246 alone, no SERVE009",
            "namespace Shapes { }",
            Handler("", "public partial class H : MissingBase"),
            Expected: "CS0246", At: "MissingBase"),
        new("a per-request override that no longer fits the base's inference, across files",
            Base(PerRequest("B") + Inference("B")),
            Handler("[Preprocess] public new int Pre(InferenceRequest r) => 1;"), BaseIn.OtherFile,
            Expected: "SERVE004", At: "Pre(InferenceRequest r) => 1"),
    ];
}
