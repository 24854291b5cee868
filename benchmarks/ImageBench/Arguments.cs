using System;
using System.Collections.Generic;

namespace Benchmarks.ImageBench;

/// <summary>--name value pairs; a missing required one is an error that names it.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _values = [];

    public static Arguments Parse(IEnumerable<string> args)
    {
        var parsed = new Arguments();
        string? name = null;
        foreach (var arg in args)
        {
            if (name is null)
            {
                name = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : throw new ArgumentException($"Expected --name, got '{arg}'.");
            }
            else
            {
                parsed._values[name] = arg;
                name = null;
            }
        }
        return name is null ? parsed : throw new ArgumentException($"--{name} has no value.");
    }

    public string Get(string name, string? fallback = null) =>
        _values.TryGetValue(name, out var value) ? value : fallback ?? throw new ArgumentException($"--{name} is required.");
}
