using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Serve.FuzzTests;

/// <summary>
/// Generators of hostile inputs: a committed seed from corpus/ with a few random edits (bytes
/// flipped, inserted, deleted, duplicated, cut off, or tokens the parsers care about spliced in).
/// FsCheck shrinks a failing case to the fewest edits and prints the seed to replay it.
/// </summary>
public static class Mutations
{
    private static readonly byte[][] Tokens =
    [
        "\r\n"u8.ToArray(), "\r\n\r\n"u8.ToArray(), "--"u8.ToArray(), "\""u8.ToArray(), ":"u8.ToArray(), ";"u8.ToArray(),
        "="u8.ToArray(), "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "*"u8.ToArray(), "&"u8.ToArray(), "!!"u8.ToArray(),
        "\n- "u8.ToArray(), "<<: "u8.ToArray(), [0x00], [0xFF], [0xEF, 0xBB, 0xBF], [0x89, 0x50, 0x4E, 0x47],
        "Content-Disposition: form-data; name=\"data\""u8.ToArray(), "IHDR"u8.ToArray(), "IDAT"u8.ToArray(),
    ];

    public static string CorpusDirectory(string kind) => Path.Combine(AppContext.BaseDirectory, "corpus", kind);

    public static byte[][] Seeds(string kind) =>
        Directory.GetFiles(CorpusDirectory(kind)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();

    /// <summary>How many cases each property runs: SERVE_FUZZ_RUNS, else the given default (CI's bound).</summary>
    public static int Runs(int defaultRuns) =>
        int.TryParse(Environment.GetEnvironmentVariable("SERVE_FUZZ_RUNS"), out var runs) && runs > 0 ? runs : defaultRuns;

    public static Config Config(int defaultRuns) => FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Runs(defaultRuns));

    /// <summary>A seed from <paramref name="corpus"/> with 0 to 8 random edits.</summary>
    public static Arbitrary<byte[]> Of(string corpus)
    {
        var seeds = Seeds(corpus);
        var oneEdit = from kind in Gen.Choose(0, 5)
                      from a in Gen.Choose(0, int.MaxValue)
                      from b in Gen.Choose(0, int.MaxValue)
                      select (Kind: kind, A: a, B: b);
        var gen = from seed in Gen.Elements(seeds)
                  from edits in Gen.ArrayOf(oneEdit).Where(e => e.Length <= 8)
                  select Apply(seed, edits);
        return Arb.From(gen);
    }

    private static byte[] Apply(byte[] seed, (int Kind, int A, int B)[] edits)
    {
        var bytes = new List<byte>(seed);
        foreach (var (kind, a, b) in edits)
        {
            var at = bytes.Count == 0 ? 0 : a % (bytes.Count + 1);
            var length = bytes.Count == 0 ? 0 : 1 + b % Math.Max(1, Math.Min(64, bytes.Count - Math.Min(at, bytes.Count - 1)));
            switch (kind)
            {
                case 0 when bytes.Count > 0: // flip a byte
                    bytes[Math.Min(at, bytes.Count - 1)] ^= (byte)(1 + b % 255);
                    break;
                case 1: // insert random bytes
                    bytes.InsertRange(at, Enumerable.Range(0, 1 + b % 16).Select(i => (byte)((b >> (i % 24)) + i * 37)));
                    break;
                case 2 when at < bytes.Count: // delete a range
                    bytes.RemoveRange(at, Math.Min(length, bytes.Count - at));
                    break;
                case 3: // cut off
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 4 when at < bytes.Count: // duplicate a range
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(length, bytes.Count - at)));
                    break;
                default: // splice in a token the parsers care about
                    bytes.InsertRange(at, Tokens[b % Tokens.Length]);
                    break;
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Splits a bodies/ corpus entry into its Content-Type line and its body.</summary>
    public static (string ContentType, byte[] Body) AsRequest(byte[] entry)
    {
        var newline = Array.IndexOf(entry, (byte)'\n');
        return newline < 0 ? (Encoding.Latin1.GetString(entry), []) : (Encoding.Latin1.GetString(entry, 0, newline), entry[(newline + 1)..]);
    }
}
