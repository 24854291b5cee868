// FsCheck, written in F#, declares its generators without nullable annotations; generated values here may be null.
#nullable disable warnings
using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.CodeAnalysis;
using Serve.Runtime;

namespace Serve.Generators.Tests;

/// <summary>
/// The generated JSON writer against System.Text.Json with <see cref="JsonSerializerOptions.Web"/>:
/// FsCheck generates result types (classes and structs whose properties are numbers, strings,
/// enums, dates, bytes, nullables, arrays, lists, dictionaries and other generated types, renamed
/// and ignored), compiles handlers for them with the real generator, fills them with generated
/// values, and compares the bytes each handler answers with <c>JsonSerializer</c>'s. Where
/// System.Text.Json throws, the handler must fail too. Bounded so it runs in seconds in CI.
/// </summary>
public class JsonDifferentialTests
{
    private const int Schemas = 12;
    private const int ValuesPerType = 12;

    [Fact]
    public void The_generated_writer_writes_what_System_Text_Json_writes()
    {
        var property = Prop.ForAll(Arb.From(SchemaGen), schema => Check(schema));
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(Schemas), property);
    }

    [Fact]
    public void A_hand_picked_schema_of_the_tricky_cases_writes_what_System_Text_Json_writes()
    {
        var schema = new Schema(
        [
            new ObjectShape(false,
            [
                new PropertyShape("URLValue", new Shape.Primitive(Primitive.String), null, Ignore.None),
                new PropertyShape("X", new Shape.Primitive(Primitive.Double), "a \"b\" <c> é", Ignore.None),
                new PropertyShape("Hidden", new Shape.Primitive(Primitive.Int), null, Ignore.Always),
                new PropertyShape("Kept", new Shape.Primitive(Primitive.Char), null, Ignore.Never),
                new PropertyShape("Inner", new Shape.Object(1), null, Ignore.None),
                new PropertyShape("Map", new Shape.Dictionary(new Shape.List(new Shape.Nullable(Primitive.Enum))), null, Ignore.None),
            ]),
            new ObjectShape(true,
            [
                new PropertyShape("When", new Shape.Primitive(Primitive.DateTimeOffset), null, Ignore.None),
                new PropertyShape("Bytes", new Shape.Primitive(Primitive.Bytes), null, Ignore.None),
            ]),
        ]);
        Assert.True(Check(schema));
    }

    /// <summary>Shapes the generated schemas do not make: inheritance, hiding, overrides, records, a user's collections.</summary>
    [Fact]
    public void Inheritance_records_and_user_collections_write_what_System_Text_Json_writes()
    {
        const string source = """
            using System.Collections;
            using System.Collections.Generic;
            using Serve;
            using Serve.Runtime;

            namespace Generated
            {
                public class Base { public int A { get; set; } = 1; public virtual int V { get; set; } = 2; public string? Hidden { get; set; } = "base"; }
                public class Middle : Base { public int M { get; set; } = 3; }
                public sealed class T0 : Middle
                {
                    public int B { get; set; } = 4;
                    public override int V { get; set; } = 5;
                    public new string? Hidden { get; set; } = "derived";
                    public Bag Items { get; set; } = new();
                    public Pairs Map { get; set; } = new();
                    public Point P { get; set; } = new(1, 2);
                }
                public sealed record Point(int X, int Y) { public int Sum => X + Y; }

                /// <summary>Its public GetEnumerator is not the IEnumerable&lt;int&gt; one.</summary>
                public sealed class Bag : IReadOnlyList<int>
                {
                    public int this[int index] => index * 10;
                    public int Count => 3;
                    public IEnumerator<string> GetEnumerator() { yield return "wrong"; }
                    IEnumerator<int> IEnumerable<int>.GetEnumerator() { yield return 0; yield return 10; yield return 20; }
                    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<int>)this).GetEnumerator();
                }

                public sealed class Pairs : IReadOnlyDictionary<string, int>
                {
                    private readonly Dictionary<string, int> _inner = new() { ["one"] = 1, ["Two"] = 2 };
                    public int this[string key] => _inner[key];
                    public IEnumerable<string> Keys => _inner.Keys;
                    public IEnumerable<int> Values => _inner.Values;
                    public int Count => _inner.Count;
                    public bool ContainsKey(string key) => _inner.ContainsKey(key);
                    public bool TryGetValue(string key, out int value) => _inner.TryGetValue(key, out value);
                    public IEnumerator<KeyValuePair<string, int>> GetEnumerator() => _inner.GetEnumerator();
                    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
                }

                [Handler("h0")]
                public partial class H0
                {
                    public static T0?[] Values = new T0?[0];
                    [Inference] public T0?[] Run(IReadOnlyList<InferenceRequest> batch) => Values;
                }
            }
            """;
        var assembly = CompileHandlers(source, out var context);
        try
        {
            var type = assembly.GetType("Generated.T0", true)!;
            CompareOne(assembly, 0, type, [Activator.CreateInstance(type), null]);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>
    /// Issue 21's class 6: properties hidden by <c>new</c>, virtual ones overridden with or without
    /// <c>[JsonPropertyName]</c>, and <c>[JsonIgnore]</c> on either side, down chains of three:
    /// System.Text.Json resolves these by JSON name, and the generated writer must do the same.
    /// </summary>
    [Fact]
    public void Hidden_overridden_and_ignored_properties_write_what_System_Text_Json_writes()
    {
        string[] types =
        [
            // The issue's example: STJ writes {"a":"derived","name":"base"}.
            """public class B0 { public string Name { get; set; } = "base"; } public class T0 : B0 { [JsonPropertyName("a")] public new string Name { get; set; } = "derived"; }""",
            """public class B1 { [JsonPropertyName("x")] public virtual int A { get; set; } = 1; } public class T1 : B1 { public override int A { get; set; } = 5; }""",
            """public class B2 { public virtual int A { get; set; } = 1; } public class T2 : B2 { [JsonPropertyName("x")] public override int A { get; set; } = 5; }""",
            """public class B3 { public string Name { get; set; } = "base"; } public class T3 : B3 { [JsonIgnore] public new string Name { get; set; } = "derived"; }""",
            """public class B4 { public virtual int A { get; set; } = 1; public int Z { get; set; } = 9; } public class T4 : B4 { [JsonIgnore] public override int A { get; set; } = 5; }""",
            """public class B5 { [JsonIgnore] public virtual int A { get; set; } = 1; } public class T5 : B5 { public override int A { get; set; } = 5; }""",
            """public class B6 { public int A { get; set; } = 1; } public class T6 : B6 { public new string A { get; set; } = "d"; }""",
            """public class B7 { [JsonIgnore] public int A { get; set; } = 1; } public class T7 : B7 { public new int A { get; set; } = 7; }""",
            """public class B8 { public string N { get; set; } = "b"; } public class M8 : B8 { [JsonIgnore] public new string N { get; set; } = "m"; } public class T8 : M8 { [JsonPropertyName("n2")] public new string N { get; set; } = "t"; }""",
            """public abstract class B9 { [JsonPropertyName("val")] public abstract int V { get; } } public class T9 : B9 { public override int V => 3; }""",
            """public class B10 { public string Name { get; set; } = "base"; } public class M10 : B10 { [JsonIgnore(Condition = JsonIgnoreCondition.Never)] public new string Name { get; set; } = "m"; } public class T10 : M10 { public int Name2 { get; set; } = 2; }""",
            """public class B11 { public virtual string Name { get; set; } = "base"; } public class M11 : B11 { [JsonIgnore] public override string Name { get; set; } = "m"; } public class T11 : M11 { [JsonPropertyName("name")] public new string Name { get; set; } = "t"; }""",
        ];
        var source = "using System.Collections.Generic;\nusing System.Text.Json.Serialization;\nusing Serve;\nusing Serve.Runtime;\nnamespace Generated\n{\n"
            + string.Join("\n", types.Select((type, i) => type + $$"""

                [Handler("h{{i}}")]
                public partial class H{{i}}
                {
                    public static T{{i}}?[] Values = new T{{i}}?[0];
                    [Inference] public T{{i}}?[] Run(IReadOnlyList<InferenceRequest> batch) => Values;
                }
                """)) + "\n}";
        var assembly = CompileHandlers(source, out var context);
        try
        {
            for (var i = 0; i < types.Length; i++)
            {
                var type = assembly.GetType($"Generated.T{i}", true)!;
                CompareOne(assembly, i, type, [Activator.CreateInstance(type), null]);
            }
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>
    /// SERVE006 refuses a hierarchy exactly where System.Text.Json throws (two different properties
    /// claim one JSON name), and accepts one it writes (an ignored override gives its name way).
    /// </summary>
    [Theory]
    [InlineData("""public class B { [JsonPropertyName("b")] public int A { get; set; } } public class T : B { public int B { get; set; } }""")]
    [InlineData("""public class B { public int A { get; set; } } public class T : B { [JsonPropertyName("a")] public int C { get; set; } }""")]
    [InlineData("""public class B { public virtual int A { get; set; } } public class T : B { [JsonPropertyName("a")] public int C { get; set; } [JsonIgnore] public override int A { get; set; } public int D { get; set; } }""")]
    [InlineData("""public class B { [JsonIgnore] public int A { get; set; } } public class T : B { [JsonPropertyName("a")] public int C { get; set; } }""")]
    public async Task SERVE006_refuses_a_hierarchy_exactly_where_System_Text_Json_throws(string types)
    {
        var source = "using System.Collections.Generic;\nusing System.Text.Json.Serialization;\nusing Serve;\nusing Serve.Runtime;\nnamespace Generated\n{\n" + types + """

            [Handler("h")]
            public partial class H
            {
                [Inference] public T[] Run(IReadOnlyList<InferenceRequest> batch) => new T[batch.Count];
            }
            }
            """;
        var refusedByStj = Record.Exception(() => Compiled(types));
        var diagnostics = await GeneratorHarness.AnalyzeAsync(source);
        if (refusedByStj is null)
        {
            Assert.Empty(diagnostics);
            return;
        }
        Assert.IsType<InvalidOperationException>(refusedByStj);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal("SERVE006", diagnostic.Id);
        Assert.Contains("in JSON (System.Text.Json refuses such a type)", diagnostic.GetMessage());
    }

    /// <summary>Serializes a default instance of Generated.T compiled from <paramref name="types"/> with System.Text.Json.</summary>
    private static string Compiled(string types)
    {
        var assembly = CompileHandlers("using System.Text.Json.Serialization;\nnamespace Generated\n{\n" + types + "\n}", out var context);
        try
        {
            return JsonSerializer.Serialize(Activator.CreateInstance(assembly.GetType("Generated.T", true)!), JsonSerializerOptions.Web);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>Why SERVE006 refuses names that differ only in case: System.Text.Json's web defaults refuse them too.</summary>
    [Fact]
    public void System_Text_Json_refuses_names_that_differ_only_in_case_as_SERVE006_does()
    {
        Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new CaseCollision(), JsonSerializerOptions.Web));
        Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new NameCollision(), JsonSerializerOptions.Web));
    }

    private sealed class CaseCollision
    {
        public int Value { get; set; }
        public int value { get; set; }
    }

    private sealed class NameCollision
    {
        public int Name { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("name")] public int Other { get; set; }
    }

    private static bool Check(Schema schema)
    {
        var assembly = CompileHandlers(schema, out var context);
        try
        {
            for (var i = 0; i < schema.Types.Count; i++)
            {
                var type = assembly.GetType($"Generated.T{i}", throwOnError: true)!;
                var values = ValueGen(schema, new Shape.Object(i), type, assembly, depth: 0).Sample(8, ValuesPerType).ToArray();
                if (!schema.Types[i].IsStruct)
                {
                    values[0] = null; // A null result is written as null.
                }
                CompareOne(assembly, i, type, values);
            }
            return true;
        }
        finally
        {
            context.Unload();
        }
    }

    private static void CompareOne(Assembly assembly, int index, Type type, object?[] values)
    {
        var elementType = type.IsValueType ? type : type;
        var array = Array.CreateInstance(elementType, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            array.SetValue(values[i], i);
        }
        var handlerType = assembly.GetType($"Generated.H{index}", throwOnError: true)!;
        handlerType.GetField("Values")!.SetValue(null, array);
        var handler = (IHandler)Activator.CreateInstance(handlerType)!;
        var batch = values.Select(_ => new InferenceRequest(Array.Empty<byte>())).ToArray();
        var handlerContext = new HandlerContext(new ModelManifest { ModelName = "json" }, Path.GetTempPath());

        for (var i = 0; i < values.Length; i++)
        {
            byte[]? expected = null;
            Exception? refused = null;
            try
            {
                expected = JsonSerializer.SerializeToUtf8Bytes(values[i], elementType, JsonSerializerOptions.Web);
            }
            catch (Exception exception) when (exception is InvalidOperationException or JsonException or ArgumentException)
            {
                refused = exception;
            }

            var single = Array.CreateInstance(elementType, 1);
            single.SetValue(values[i], 0);
            handlerType.GetField("Values")!.SetValue(null, single);
            if (refused is not null)
            {
                try
                {
                    var written = handler.HandleAsync([batch[i]], handlerContext, CancellationToken.None).AsTask().GetAwaiter().GetResult()[0].Body.ToArray();
                    Assert.Fail($"T{index} value {i}: System.Text.Json refuses it ({refused.GetType().Name}: {refused.Message}), the generated writer wrote {Encoding.UTF8.GetString(written)}");
                }
                catch (HandlerStageException)
                {
                }
                continue;
            }
            var actual = handler.HandleAsync([batch[i]], handlerContext, CancellationToken.None).AsTask().GetAwaiter().GetResult()[0].Body.ToArray();
            if (!actual.AsSpan().SequenceEqual(expected))
            {
                Assert.Fail($"T{index} value {i}:\n  System.Text.Json: {Encoding.UTF8.GetString(expected!)}\n  generated:        {Encoding.UTF8.GetString(actual)}");
            }
        }
    }

    private static Assembly CompileHandlers(Schema schema, out AssemblyLoadContext context) => CompileHandlers(schema.ToSource(), out context);

    private static Assembly CompileHandlers(string source, out AssemblyLoadContext context)
    {
        var (_, output) = GeneratorHarness.Run(GeneratorHarness.Compile([source], References.Library, GeneratorHarness.ParseOptions, "Differential" + Guid.NewGuid().ToString("N")));
        using var stream = new MemoryStream();
        var emitted = output.Emit(stream);
        Assert.True(emitted.Success, "The generated handlers do not compile:\n" + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)) + "\n" + source);
        var warnings = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(warnings.Length == 0, string.Join("\n", warnings.Select(w => w.ToString())) + "\n" + source);
        stream.Position = 0;
        context = new AssemblyLoadContext("differential", isCollectible: true);
        return context.LoadFromStream(stream);
    }

    // ---- Schemas: the result types, as data, and their C# source ----

    public enum Primitive { Int, Long, Byte, SByte, Short, UShort, UInt, ULong, Float, Double, Decimal, Bool, String, Char, Guid, DateTime, DateTimeOffset, Enum, Bytes }

    public enum Ignore { None, Always, Never }

    public abstract record Shape
    {
        public sealed record Primitive(JsonDifferentialTests.Primitive Kind) : Shape;
        public sealed record Nullable(JsonDifferentialTests.Primitive Kind) : Shape;
        public sealed record Array(Shape Item) : Shape;
        public sealed record List(Shape Item) : Shape;
        public sealed record Dictionary(Shape Value) : Shape;
        /// <summary>Another generated type; only types after the current one, so values are finite.</summary>
        public sealed record Object(int Index) : Shape;
    }

    public sealed record PropertyShape(string Name, Shape Shape, string? JsonName, Ignore Ignore);

    public sealed record ObjectShape(bool IsStruct, IReadOnlyList<PropertyShape> Properties);

    public sealed record Schema(IReadOnlyList<ObjectShape> Types)
    {
        public override string ToString() => ToSource();

        public string ToSource()
        {
            var text = new StringBuilder("""
                using System;
                using System.Collections.Generic;
                using System.Text.Json.Serialization;
                using Serve;
                using Serve.Runtime;

                namespace Generated
                {
                    [Flags] public enum Color { None = 0, Red = 1, Green = 2, Blue = 4 }

                """);
            for (var i = 0; i < Types.Count; i++)
            {
                var type = Types[i];
                text.Append($"    public {(type.IsStruct ? "struct" : "sealed class")} T{i}\n    {{\n");
                foreach (var property in type.Properties)
                {
                    var attribute = property.Ignore switch
                    {
                        Ignore.Always => "[JsonIgnore] ",
                        Ignore.Never => "[JsonIgnore(Condition = JsonIgnoreCondition.Never)] ",
                        _ => "",
                    };
                    if (property.JsonName is { } jsonName)
                    {
                        attribute += $"[JsonPropertyName({Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(jsonName, true)})] ";
                    }
                    text.Append($"        {attribute}public {TypeName(property.Shape)} {property.Name} {{ get; set; }}\n");
                }
                text.Append("    }\n\n");
                var element = type.IsStruct ? $"T{i}" : $"T{i}?";
                text.Append($$"""
                        [Handler("h{{i}}")]
                        public partial class H{{i}}
                        {
                            public static {{element}}[] Values = new {{element}}[0];
                            [Inference] public {{element}}[] Run(IReadOnlyList<InferenceRequest> batch) => Values;
                        }

                    """);
            }
            return text.Append("}\n").ToString();
        }

        private static string TypeName(Shape shape) => shape switch
        {
            Shape.Primitive p => PrimitiveName(p.Kind) + (p.Kind is Primitive.String or Primitive.Bytes ? "?" : ""),
            Shape.Nullable n => PrimitiveName(n.Kind) + "?",
            Shape.Array a => TypeName(a.Item) + "[]?",
            Shape.List l => $"List<{TypeName(l.Item)}>?",
            Shape.Dictionary d => $"Dictionary<string, {TypeName(d.Value)}>?",
            Shape.Object o => $"T{o.Index}?",
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };

        private static string PrimitiveName(Primitive kind) => kind switch
        {
            Primitive.Int => "int", Primitive.Long => "long", Primitive.Byte => "byte", Primitive.SByte => "sbyte",
            Primitive.Short => "short", Primitive.UShort => "ushort", Primitive.UInt => "uint", Primitive.ULong => "ulong",
            Primitive.Float => "float", Primitive.Double => "double", Primitive.Decimal => "decimal", Primitive.Bool => "bool",
            Primitive.String => "string", Primitive.Char => "char", Primitive.Guid => "Guid", Primitive.DateTime => "DateTime",
            Primitive.DateTimeOffset => "DateTimeOffset", Primitive.Enum => "Color", _ => "byte[]",
        };
    }

    // ---- Generators ----

    private static readonly string[] PropertyNames =
        ["Value", "URLValue", "Name", "x", "ID", "Id2", "IsOK", "ÉtatId", "A_B", "Score", "Σigma", "HTMLParser", "Items", "Map"];

    private static readonly string[] JsonNames = ["custom", "with space", "quote\"d", "<tag>", "ünï", "emoji😀", "a\\b", "\u2028line"];

    private static readonly Gen<Primitive> PrimitiveGen = Gen.Elements(Enum.GetValues<Primitive>());

    private static Gen<Shape> ShapeGen(int typeIndex, int typeCount, int depth)
    {
        var leaves = new List<(int, Gen<Shape>)>
        {
            (6, PrimitiveGen.Select(k => (Shape)new Shape.Primitive(k))),
            (2, PrimitiveGen.Where(k => k is not (Primitive.String or Primitive.Bytes)).Select(k => (Shape)new Shape.Nullable(k))),
        };
        if (typeIndex + 1 < typeCount)
        {
            leaves.Add((2, Gen.Choose(typeIndex + 1, typeCount - 1).Select(i => (Shape)new Shape.Object(i))));
        }
        if (depth < 2)
        {
            var inner = ShapeGen(typeIndex, typeCount, depth + 1);
            leaves.Add((1, inner.Select(s => (Shape)new Shape.Array(s))));
            leaves.Add((1, inner.Select(s => (Shape)new Shape.List(s))));
            leaves.Add((1, inner.Select(s => (Shape)new Shape.Dictionary(s))));
        }
        return Gen.Frequency(leaves.ToArray());
    }

    private static Gen<ObjectShape> ObjectGen(int index, int count) =>
        from isStruct in Gen.Frequency((1, Gen.Constant(true)), (3, Gen.Constant(false)))
        from names in Gen.Shuffle(PropertyNames).Select(n => n.ToArray())
        from size in Gen.Choose(0, 6)
        from properties in Gen.CollectToArray(names.Take(size), name =>
            from shape in ShapeGen(index, count, 0)
            from jsonName in Gen.Frequency((5, Gen.Constant<string?>(null)), (1, Gen.Elements(JsonNames).Select(n => (string?)(n + name))))
            from ignore in Gen.Frequency((6, Gen.Constant(Ignore.None)), (1, Gen.Constant(Ignore.Always)), (1, Gen.Constant(Ignore.Never)))
            select new PropertyShape(name, shape, jsonName, ignore))
        select new ObjectShape(isStruct, properties);

    private static readonly Gen<Schema> SchemaGen =
        from count in Gen.Choose(1, 4)
        from types in Gen.CollectToArray(Enumerable.Range(0, count), i => ObjectGen(i, count))
        select new Schema(types);

    // ---- Values: generated from the shapes, built with reflection (test code only) ----

    private static Gen<object?> ValueGen(Schema schema, Shape shape, Type clrType, Assembly assembly, int depth)
    {
        switch (shape)
        {
            case Shape.Primitive p:
                return PrimitiveValue(p.Kind, assembly);
            case Shape.Nullable n:
                return Gen.Frequency((1, Gen.Constant<object?>(null)), (3, PrimitiveValue(n.Kind, assembly)));
            case Shape.Array or Shape.List or Shape.Dictionary:
            {
                var (item, itemType) = shape switch
                {
                    Shape.Array a => (a.Item, clrType.GetElementType()!),
                    Shape.List l => (l.Item, clrType.GetGenericArguments()[0]),
                    _ => (((Shape.Dictionary)shape).Value, clrType.GetGenericArguments()[1]),
                };
                var items = Gen.Choose(0, depth > 1 ? 1 : 3).SelectMany(n => Gen.ArrayOf(ValueGen(schema, item, itemType, assembly, depth + 1), n));
                return Gen.Frequency((1, Gen.Constant<object?>(null)), (5, items.Select(values => Build(shape, clrType, itemType, values))));
            }
            case Shape.Object o:
            {
                var type = assembly.GetType($"Generated.T{o.Index}", true)!;
                var properties = schema.Types[o.Index].Properties;
                var gens = properties.Select(p => ValueGen(schema, p.Shape, type.GetProperty(p.Name)!.PropertyType, assembly, depth + 1)).ToArray();
                var instance = Gen.CollectToArray(gens, g => g).Select(values =>
                {
                    var value = Activator.CreateInstance(type)!;
                    for (var i = 0; i < properties.Count; i++)
                    {
                        type.GetProperty(properties[i].Name)!.SetValue(value, values[i]);
                    }
                    return (object?)value;
                });
                // A struct is never null, unless it is a Nullable<T> property.
                return type.IsValueType && Nullable.GetUnderlyingType(clrType) is null
                    ? instance
                    : Gen.Frequency((1, Gen.Constant<object?>(null)), (4, instance));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(shape));
        }
    }

    private static object Build(Shape shape, Type clrType, Type itemType, object?[] values)
    {
        switch (shape)
        {
            case Shape.Array:
            {
                var array = Array.CreateInstance(itemType, values.Length);
                for (var i = 0; i < values.Length; i++) array.SetValue(values[i], i);
                return array;
            }
            case Shape.List:
            {
                var list = (IList)Activator.CreateInstance(clrType)!;
                foreach (var value in values) list.Add(value);
                return list;
            }
            default:
            {
                var dictionary = (IDictionary)Activator.CreateInstance(clrType)!;
                for (var i = 0; i < values.Length; i++) dictionary["k" + i + (i % 2 == 0 ? "é\"<" : "")] = values[i];
                return dictionary;
            }
        }
    }

    private static readonly string[] Strings = ["", "plain", "quote\" backslash\\ slash/", "<script>&amp;'", "é ü 中文", "emoji 😀", "\u0001\u001f\t\n", "\u2028\u2029", "\ud800 lone", "+1"];

    private static Gen<object?> PrimitiveValue(Primitive kind, Assembly assembly)
    {
        var longs = Gen.Elements(0L, 1L, -1L, long.MaxValue, long.MinValue, 42L, int.MaxValue + 1L, 9007199254740993L);
        var doubles = Gen.Elements(0.0, -0.0, 1.5, -1e-300, 1e300, double.Epsilon, Math.PI, 1.0 / 3, 123456789.123456789, double.NaN, double.PositiveInfinity);
        return kind switch
        {
            Primitive.Int => Gen.Choose(int.MinValue, int.MaxValue).Select(v => (object?)v),
            Primitive.Long => longs.Select(v => (object?)v),
            Primitive.Byte => Gen.Choose(0, 255).Select(v => (object?)(byte)v),
            Primitive.SByte => Gen.Choose(-128, 127).Select(v => (object?)(sbyte)v),
            Primitive.Short => Gen.Choose(short.MinValue, short.MaxValue).Select(v => (object?)(short)v),
            Primitive.UShort => Gen.Choose(0, ushort.MaxValue).Select(v => (object?)(ushort)v),
            Primitive.UInt => Gen.Elements(0u, 1u, uint.MaxValue, 3000000000u).Select(v => (object?)v),
            Primitive.ULong => Gen.Elements(0ul, ulong.MaxValue, 18446744073709551614ul).Select(v => (object?)v),
            Primitive.Float => Gen.Elements(0f, -0f, 1.1f, float.MaxValue, float.Epsilon, 3.4028235e38f, 16777217f, float.NaN).Select(v => (object?)v),
            Primitive.Double => doubles.Select(v => (object?)v),
            Primitive.Decimal => Gen.Elements(0m, 1.10m, -79228162514264337593543950335m, 0.0000000000000000000000000001m, 1e20m).Select(v => (object?)v),
            Primitive.Bool => Gen.Elements(true, false).Select(v => (object?)v),
            Primitive.String => Gen.Frequency((1, Gen.Constant<object?>(null)), (6, Gen.Elements(Strings).Select(v => (object?)v))),
            Primitive.Char => Gen.Elements('a', '"', '\\', '<', '\0', 'é', '\u2028', '\ud800', "😀"[0]).Select(v => (object?)v),
            Primitive.Guid => Gen.Elements(Guid.Empty, new Guid("0f8fad5b-d9cb-469f-a165-70867728950e")).Select(v => (object?)v),
            Primitive.DateTime => Gen.Elements(
                DateTime.MinValue, DateTime.MaxValue, new DateTime(2026, 11, 27, 17, 0, 0, DateTimeKind.Utc),
                new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Unspecified).AddTicks(9), new DateTime(2020, 2, 29, 0, 0, 0, DateTimeKind.Local)).Select(v => (object?)v),
            Primitive.DateTimeOffset => Gen.Elements(
                DateTimeOffset.MinValue, new DateTimeOffset(2026, 11, 27, 17, 0, 0, TimeSpan.FromHours(5.5)), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(1)).Select(v => (object?)v),
            Primitive.Enum => Gen.Elements(0, 1, 2, 6, 7, 8, -1).Select(v => Enum.ToObject(assembly.GetType("Generated.Color", true)!, v)),
            _ => Gen.Frequency((1, Gen.Constant<object?>(null)), (4, Gen.Elements(Array.Empty<byte>(), new byte[] { 0, 255, 128 }, Encoding.UTF8.GetBytes("hello world!")).Select(v => (object?)v))),
        };
    }
}
