using System;
using System.Collections.Generic;

namespace Serve.Runtime;

/// <summary>
/// The <c>pt2</c> section of model-config (TorchServe's torch.compile and torch.export options),
/// checked for known keys. .NET has no torch.compile: each backend maps these to its nearest real
/// equivalent and refuses the rest by name (docs/pt2.md has the table).
/// </summary>
public sealed record Pt2Settings
{
    /// <summary><c>compile.enable</c>, or true for the old <c>pt2: backend</c> form.</summary>
    public bool CompileEnabled { get; init; }

    /// <summary><c>compile.backend</c> (old form: the scalar), e.g. "inductor"; null for torch.compile's default.</summary>
    public string? Backend { get; init; }

    /// <summary><c>compile.mode</c>: default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs.</summary>
    public string? Mode { get; init; }

    /// <summary><c>compile.fullgraph</c>: compile the whole model as one graph; null for torch.compile's default.</summary>
    public bool? FullGraph { get; init; }

    /// <summary><c>compile.dynamic</c>: compile for dynamic shapes; null for torch.compile's default.</summary>
    public bool? Dynamic { get; init; }

    /// <summary><c>compile.options.*</c>: Inductor's own settings, by name.</summary>
    public IReadOnlyList<string> InductorOptions { get; init; } = [];

    /// <summary><c>export.aot_compile</c>: TorchServe's AOTInductor path.</summary>
    public bool AotCompile { get; init; }

    /// <summary>True when the section asks for nothing.</summary>
    public bool IsEmpty => !CompileEnabled && Backend is null && Mode is null && FullGraph is null && Dynamic is null
        && InductorOptions.Count == 0 && !AotCompile;

    /// <summary>No pt2 section.</summary>
    public static Pt2Settings None { get; } = new();

    /// <summary>Reads the flattened section (<see cref="ModelConfig.Pt2"/>).</summary>
    /// <exception cref="ModelLoadException">An unknown key or a value of the wrong kind; the message names it.</exception>
    public static Pt2Settings Parse(IReadOnlyDictionary<string, string> section)
    {
        var settings = None;
        var oldForm = false;
        foreach (var (key, value) in section)
        {
            var name = "pt2." + key.Replace(':', '.');
            settings = key.ToLowerInvariant() switch
            {
                "compile:enable" => settings with { CompileEnabled = Bool(name, value) },
                "compile:backend" => settings with { Backend = value },
                "compile:mode" => settings with { Mode = value },
                "compile:fullgraph" => settings with { FullGraph = Bool(name, value) },
                "compile:dynamic" => settings with { Dynamic = Bool(name, value) },
                "export:aot_compile" => settings with { AotCompile = Bool(name, value) },
                _ when key.StartsWith("compile:options:", StringComparison.OrdinalIgnoreCase)
                    => settings with { InductorOptions = [.. settings.InductorOptions, name] },
                // TorchServe's deprecated forms: "pt2: inductor" and "pt2: {backend: inductor, mode: ...}".
                "backend" => Old(settings with { Backend = value }, ref oldForm),
                "mode" => Old(settings with { Mode = value }, ref oldForm),
                "fullgraph" => Old(settings with { FullGraph = Bool(name, value) }, ref oldForm),
                "dynamic" => Old(settings with { Dynamic = Bool(name, value) }, ref oldForm),
                _ => throw new ModelLoadException(
                    $"model-config: unknown pt2 option '{name}'. Known: pt2.compile.enable, .backend, .mode, .fullgraph, .dynamic, .options.*, pt2.export.aot_compile."),
            };
        }
        return oldForm ? settings with { CompileEnabled = true } : settings;
    }

    private static Pt2Settings Old(Pt2Settings settings, ref bool oldForm)
    {
        oldForm = true;
        return settings;
    }

    private static bool Bool(string name, string value) => value.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ModelLoadException($"model-config: '{name}' must be true or false, not '{value}'."),
    };
}
