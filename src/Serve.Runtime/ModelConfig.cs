using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Serve.Runtime;

/// <summary>
/// A model's <c>model-config.yaml</c>: TorchServe's frontend keys and the <c>handler</c> section.
/// Read through YamlDotNet's representation model (no reflection, safe for native AOT).
/// </summary>
public sealed record ModelConfig
{
    /// <summary>TorchServe's defaults, for a model without model-config.yaml.</summary>
    public static ModelConfig Default { get; } = new();

    /// <summary>The fewest workers the model runs on (TorchServe's minWorkers).</summary>
    public int MinWorkers { get; init; } = 1;

    /// <summary>The most workers the model runs on (TorchServe's maxWorkers).</summary>
    public int MaxWorkers { get; init; } = 1;

    /// <summary>The most requests one handler call receives.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>How long, in ms, a batch waits to fill (TorchServe's default: 100).</summary>
    public int MaxBatchDelay { get; init; } = 100;

    /// <summary>Seconds a batch may take before its requests fail (TorchServe's default: 120).</summary>
    public int ResponseTimeout { get; init; } = 120;

    /// <summary>Seconds a worker may take to initialize (TorchServe's default: 120).</summary>
    public int StartupTimeout { get; init; } = 120;

    /// <summary>"cpu", "gpu" or null (let the server choose).</summary>
    public string? DeviceType { get; init; }

    /// <summary>The GPU ids the model may use (TorchServe's deviceIds).</summary>
    public IReadOnlyList<int> DeviceIds { get; init; } = [];

    /// <summary>Requests that may wait for this model (TorchServe's job_queue_size default: 100).</summary>
    public int JobQueueSize { get; init; } = 100;

    /// <summary>
    /// The <c>handler</c> section, flattened the way .NET configuration is:
    /// <c>handler: {topk: 5, labels: {file: a.json}}</c> gives "topk" = "5" and "labels:file" = "a.json".
    /// </summary>
    public IReadOnlyDictionary<string, string> Handler { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The <c>pt2</c> section (TorchServe's torch.compile and export options), flattened like
    /// <see cref="Handler"/>: <c>pt2: {compile: {enable: true}}</c> gives "compile:enable" = "true";
    /// the old form <c>pt2: inductor</c> gives "backend" = "inductor". Each backend maps what it
    /// can to its own equivalent and refuses the rest by name (docs/pt2.md).
    /// </summary>
    public IReadOnlyDictionary<string, string> Pt2 { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The <c>onnx</c> section: ONNX Runtime session options (intraOpNumThreads, interOpNumThreads,
    /// graphOptimizationLevel, cacheOptimizedModel, ioBinding), flattened like <see cref="Handler"/>; the ONNX
    /// backend checks the keys and values.
    /// </summary>
    public IReadOnlyDictionary<string, string> Onnx { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The <c>torch</c> section: TorchSharp settings (<c>numThreads</c>: libtorch's intra-op threads,
    /// <see cref="ThreadBudget"/>), flattened like <see cref="Handler"/>; the TorchSharp backend checks the keys.
    /// </summary>
    public IReadOnlyDictionary<string, string> Torch { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Triton's preferred batch sizes: a batch is padded up to the next one, so the model sees few
    /// distinct shapes, and each is warmed up before the model is ready. Empty: the server's default
    /// for the device (<see cref="BatchShapes.Decide"/>). Every size is at most <see cref="BatchSize"/>.
    /// </summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    /// <summary>
    /// The top-level keys the file set, or null for <see cref="Default"/> (no file): TorchServe lets an
    /// archive's explicit minWorkers win over <c>initial_workers</c>, so "set" must be told from "default".
    /// </summary>
    public IReadOnlySet<string>? ConfiguredKeys { get; init; }

    /// <summary>The most characters a model-config may hold (1 MiB: TorchServe's own configs are a few hundred bytes).</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>How deep mappings and lists may nest.</summary>
    public const int MaxDepth = 32;

    /// <summary>The most aliases (<c>*name</c>) a model-config may use.</summary>
    public const int MaxAliases = 64;

    /// <summary>The most values a model-config may hold once its aliases are expanded.</summary>
    public const int MaxValues = 10_000;

    // TorchServe keys a config may hold that Serve does not act on yet: refused, never ignored.
    private static readonly HashSet<string> NotYetSupported = new(StringComparer.Ordinal)
    {
        "parallelType", "parallelLevel", "torchrun", "useJobTicket", "asyncCommunication",
        "continuousBatching", "sequenceBatching", "sequenceMaxIdleMSec", "maxSequenceJobQueueSize",
        "maxNumSequence", "clientTimeoutInMills"
    };

    private static readonly string[] KnownKeys =
    [
        "minWorkers", "maxWorkers", "batchSize", "maxBatchDelay", "responseTimeout", "startupTimeout",
        "deviceType", "deviceIds", "jobQueueSize", "handler", "pt2", "onnx", "torch", "preferredBatchSizes",
    ];

    /// <summary>Reads a model-config.yaml file.</summary>
    /// <exception cref="ModelLoadException">Bad YAML, an unknown key or a mistyped value; the message names the key and line.</exception>
    public static ModelConfig Read(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new ModelLoadException($"No model config at '{path}'.");
        }
        if (file.Length > MaxSize)
        {
            throw TooLarge(path, $"is {file.Length} bytes");
        }
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    /// <summary>Parses model-config.yaml text; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(TextReader yaml, string source)
    {
        // Read whole but bounded: the parser would otherwise take any length, and a 65 MB config takes gigabytes as nodes.
        var text = new char[MaxSize + 1];
        var length = 0;
        int read;
        while (length < text.Length && (read = yaml.Read(text, length, text.Length - length)) > 0)
        {
            length += read;
        }
        if (length > MaxSize)
        {
            throw TooLarge(source, "is longer");
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new BoundedYamlParser(new Parser(new StringReader(new string(text, 0, length))), source, MaxDepth, MaxAliases));
        }
        catch (YamlException e)
        {
            throw new ModelLoadException($"{source}:{e.Start.Line}: not valid YAML: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these, not YamlException, on some malformed input (found by tests/Serve.FuzzTests).
            throw new ModelLoadException($"{source}: not valid YAML: {e.Message}", e);
        }

        if (stream.Documents.Count > 1)
        {
            throw new ModelLoadException($"{source}:{stream.Documents[1].RootNode.Start.Line}: a model config is one YAML document, but this file has {stream.Documents.Count}.");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return Default;
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ModelLoadException($"{source}:{stream.Documents[0].RootNode.Start.Line}: a model config must be a mapping of keys to values.");
        }

        var config = Default with { ConfiguredKeys = ConfiguredKeysOf(root) };
        var values = 0;
        var workersAt = source; // Where minWorkers > maxWorkers shows: the later of the two keys.
        foreach (var (keyNode, value) in root.Children)
        {
            var key = KeyText(keyNode, source);
            var at = $"{source}:{keyNode.Start.Line}";
            if (key is "minWorkers" or "maxWorkers")
            {
                workersAt = at;
            }
            config = key switch
            {
                "minWorkers" => config with { MinWorkers = ReadInt(value, key, at, minimum: 0) },
                "maxWorkers" => config with { MaxWorkers = ReadInt(value, key, at, minimum: 1) },
                "batchSize" => config with { BatchSize = ReadInt(value, key, at, minimum: 1) },
                "maxBatchDelay" => config with { MaxBatchDelay = ReadInt(value, key, at, minimum: 0) },
                "responseTimeout" => config with { ResponseTimeout = ReadInt(value, key, at, minimum: 1) },
                "startupTimeout" => config with { StartupTimeout = ReadInt(value, key, at, minimum: 1) },
                "jobQueueSize" => config with { JobQueueSize = ReadInt(value, key, at, minimum: 1) },
                "deviceType" => config with { DeviceType = ReadDeviceType(value, at) },
                "deviceIds" => config with { DeviceIds = ReadIntList(value, key, at, minimum: 0) },
                "handler" => config with { Handler = Flatten(value, key, at, source, ref values) },
                "pt2" => config with { Pt2 = value is YamlScalarNode { Value: { Length: > 0 } backend }
                    ? new Dictionary<string, string>(StringComparer.Ordinal) { ["backend"] = backend }
                    : Flatten(value, key, at, source, ref values) },
                "onnx" => config with { Onnx = Flatten(value, key, at, source, ref values) },
                "torch" => config with { Torch = Flatten(value, key, at, source, ref values) },
                "preferredBatchSizes" => config with { PreferredBatchSizes = ReadIntList(value, key, at, minimum: 1) },
                _ when NotYetSupported.Contains(key) => throw new ModelLoadException(
                    $"{at}: '{key}' is a TorchServe model-config key that Serve does not support yet; remove it."),
                _ => throw new ModelLoadException($"{at}: unknown model-config key '{key}'.{Suggest(key)}"),
            };
        }

        foreach (var size in config.PreferredBatchSizes)
        {
            if (size > config.BatchSize)
            {
                throw new ModelLoadException($"{source}: preferredBatchSizes holds {size}, more than batchSize ({config.BatchSize}); a batch never grows past batchSize.");
            }
        }
        if (config.MinWorkers > config.MaxWorkers)
        {
            throw new ModelLoadException($"{workersAt}: minWorkers ({config.MinWorkers}) is greater than maxWorkers ({config.MaxWorkers}).");
        }
        return config;
    }

    private static int ReadInt(YamlNode node, string key, string at, int minimum)
    {
        if (node is YamlScalarNode { Value: { } text }
            && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value >= minimum
                ? value
                : throw new ModelLoadException($"{at}: '{key}' must be at least {minimum}, not {value}.");
        }
        throw new ModelLoadException($"{at}: '{key}' must be an integer, not '{Describe(node)}'.");
    }

    private static List<int> ReadIntList(YamlNode node, string key, string at, int minimum)
    {
        if (node is not YamlSequenceNode sequence)
        {
            throw new ModelLoadException($"{at}: '{key}' must be a list of integers, e.g. [0, 1].");
        }
        var values = new List<int>(sequence.Children.Count);
        foreach (var item in sequence.Children)
        {
            values.Add(ReadInt(item, key, at, minimum));
        }
        return values;
    }

    private static string ReadDeviceType(YamlNode node, string at)
    {
        var value = (node as YamlScalarNode)?.Value;
        return value is "cpu" or "gpu"
            ? value
            : throw new ModelLoadException($"{at}: 'deviceType' must be 'cpu' or 'gpu', not '{Describe(node)}'.");
    }

    private static HashSet<string> ConfiguredKeysOf(YamlMappingNode root)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in root.Children.Keys)
        {
            if (key is YamlScalarNode { Value: { } name })
            {
                keys.Add(name);
            }
        }
        return keys;
    }

    private static ModelLoadException TooLarge(string source, string what) =>
        new($"{source}: the model config {what}; the limit is {MaxSize} characters (model-config size).");

    private static Dictionary<string, string> Flatten(YamlNode node, string key, string at, string source, ref int count)
    {
        if (node is not YamlMappingNode mapping)
        {
            throw new ModelLoadException($"{at}: '{key}' must be a mapping of keys to values.");
        }
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Flatten(mapping, prefix: "", depth: 1, values, source, ref count);
        return values;
    }

    // Counts every node walked, so that aliases which name a subtree again and again cannot multiply the work.
    private static void Flatten(YamlNode node, string prefix, int depth, Dictionary<string, string> values, string source, ref int count)
    {
        if (depth > MaxDepth)
        {
            // Only an alias inside its own anchor (&a [*a]) gets here: the parser bounds plain nesting.
            throw new ModelLoadException($"{source}:{node.Start.Line}: the model config nests deeper than {MaxDepth} levels; the limit is {MaxDepth} (model-config nesting depth).");
        }
        if (++count > MaxValues)
        {
            throw new ModelLoadException(
                $"{source}:{node.Start.Line}: the model config holds more than {MaxValues} values once its aliases are expanded; the limit is {MaxValues} (model-config values).");
        }
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (child, value) in mapping.Children)
                {
                    var name = KeyText(child, source);
                    Flatten(value, prefix.Length == 0 ? name : prefix + ":" + name, depth + 1, values, source, ref count);
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Flatten(sequence.Children[i], prefix + ":" + i.ToString(CultureInfo.InvariantCulture), depth + 1, values, source, ref count);
                }
                break;
            case YamlScalarNode scalar:
                values[prefix] = scalar.Value ?? "";
                break;
        }
    }

    /// <summary>A key's text; a key that is a list or a mapping (<c>[a]: 1</c> is valid YAML) is refused, not cast.</summary>
    private static string KeyText(YamlNode key, string source) =>
        key is YamlScalarNode scalar
            ? scalar.Value ?? ""
            : throw new ModelLoadException($"{source}:{key.Start.Line}: a key must be a plain name, not {Describe(key)}.");

    private static string Suggest(string key)
    {
        foreach (var known in KnownKeys)
        {
            if (string.Equals(known, key, StringComparison.OrdinalIgnoreCase))
            {
                return $" Did you mean '{known}'? Keys are case-sensitive.";
            }
        }
        return $" Known keys: {string.Join(", ", KnownKeys)}.";
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value ?? "",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => node.NodeType.ToString(),
    };
}
