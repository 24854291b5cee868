using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Serve.Runtime.Tests.TestHandlers;

public enum Colour
{
    Red,
    Green = 5,
    Blue,
}

public enum Level : byte
{
    Low = 1,
    High = 200,
}

public sealed record Child(string Name, int? Age);

public readonly record struct Point(double X, double Y);

/// <summary>
/// A result with one property of each shape the generator writes. Only one property is a
/// Nullable&lt;T&gt; (MaybeCount); the other nullable values sit in collections, because two such
/// properties in one type make the generated writer fail to compile (CS0128, see the report).
/// </summary>
public sealed record Report(
    string Name,
    string? Missing,
    int Count,
    long Big,
    uint Unsigned,
    short Small,
    byte Tiny,
    double Score,
    float Ratio,
    decimal Price,
    bool Ok,
    char Letter,
    Colour Colour,
    Level Level,
    int? MaybeCount,
    List<Colour?> MaybeColours,
    double?[] MaybeScores,
    Child Child,
    Child? MaybeChild,
    Point Point,
    Point?[] MaybePoints,
    List<int> Numbers,
    int[] Array,
    IReadOnlyList<Child> Children,
    List<int?> Sparse,
    string?[] Texts,
    List<List<int>> Matrix,
    List<int>? MaybeNumbers,
    Dictionary<string, int> Counts,
    IReadOnlyDictionary<string, Child?> ByName,
    Dictionary<string, List<double>> Series,
    byte[] Bytes,
    byte[]? MaybeBytes,
    DateTime When,
    DateTime WhenLocal,
    DateTimeOffset WhenOffset,
    Guid Id,
    List<Guid?> MaybeIds,
    [property: JsonPropertyName("custom_name")] string Renamed,
    [property: JsonIgnore] string Secret)
{
    /// <summary>Camel-casing of a leading acronym: "URLValue" is "urlValue".</summary>
    public string URLValue { get; init; } = "http://example.com/?a=1&b=<2>";

    public int this[int index] => index;

    public static int Ignored => 1;
}

/// <summary>A plain class hierarchy: properties from both the class and its base.</summary>
public class Animal
{
    public string Kind { get; set; } = "";

    public int Legs { get; set; }
}

public sealed class Dog : Animal
{
    public string Name { get; set; } = "";

    [JsonIgnore]
    public string Owner { get; set; } = "";

    public Animal? Friend { get; set; }

    public string WriteOnly { set => Name = value; }

    public string HiddenGetter { private get; set; } = "hidden";

    public string PublicField = "fields are not written";
}

/// <summary>Values the result handlers return for request i, so that tests can build the same.</summary>
public static class JsonSamples
{
    public static Report Report(int i) => new(
        Name: "report " + i + " naïve <b>&'\"\u2603",
        Missing: null,
        Count: i,
        Big: long.MaxValue - i,
        Unsigned: uint.MaxValue,
        Small: -12,
        Tiny: 255,
        Score: 0.1 + i,
        Ratio: 1f / 3f,
        Price: 12.345m,
        Ok: i % 2 == 0,
        Letter: 'é',
        Colour: Colour.Blue,
        Level: Level.High,
        MaybeCount: i == 0 ? null : i * 10,
        MaybeColours: [null, Colour.Green],
        MaybeScores: [i == 0 ? 2.5 : null],
        Child: new Child("child", 3),
        MaybeChild: i == 0 ? null : new Child("maybe", null),
        Point: new Point(1.5, -2),
        MaybePoints: [i == 0 ? new Point(0, 0) : null],
        Numbers: [1, 2, 3],
        Array: [],
        Children: [new Child("a", 1), new Child("b", null)],
        Sparse: [1, null, 3],
        Texts: ["x", null],
        Matrix: [[1, 2], [], [3]],
        MaybeNumbers: i == 0 ? null : [i],
        Counts: new Dictionary<string, int> { ["one"] = 1, ["Two Words"] = 2, ["ünï"] = 3 },
        ByName: new Dictionary<string, Child?> { ["kid"] = new Child("kid", 7), ["none"] = null },
        Series: new Dictionary<string, List<double>> { ["s"] = [0.5, 1e-7, 1e21] },
        Bytes: [0, 1, 2, 250, 251, 252, 253, 254, 255],
        MaybeBytes: i == 0 ? null : [42],
        When: new DateTime(2024, 2, 29, 13, 45, 10, 123, DateTimeKind.Utc),
        WhenLocal: new DateTime(2024, 2, 29, 13, 45, 10, DateTimeKind.Unspecified).AddTicks(i),
        WhenOffset: new DateTimeOffset(2024, 2, 29, 13, 45, 10, TimeSpan.FromHours(5.5)),
        Id: new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"),
        MaybeIds: [i == 0 ? null : Guid.Empty],
        Renamed: "renamed",
        Secret: "never written");

    public static Dog Dog(int i) => new()
    {
        Kind = "dog",
        Legs = 4,
        Name = "Rex " + i,
        Owner = "never written",
        Friend = i == 0 ? null : new Animal { Kind = "cat", Legs = 4 },
    };
}
