using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Serve.Archives;

namespace Serve.TorchServe;

/// <summary>
/// The settings of a TorchServe <c>config.properties</c> that this server honours, under
/// TorchServe's key names and with its defaults, except where docs/torchserve-differences.md
/// says otherwise. Keys TorchServe knows but this server does not honour, and keys nobody
/// knows, are listed in <see cref="Ignored"/> so that the operator is told, not left guessing.
/// </summary>
public sealed record TorchServeConfig
{
    /// <summary>TorchServe's default for <c>allowed_urls</c>: local files and any http(s) URL.</summary>
    public static readonly IReadOnlyList<string> DefaultAllowedUrls = ["file://.*", "http(s)?://.*"];

    /// <summary><c>inference_address</c>.</summary>
    public Uri InferenceAddress { get; init; } = new("http://127.0.0.1:8080");

    /// <summary><c>management_address</c>.</summary>
    public Uri ManagementAddress { get; init; } = new("http://127.0.0.1:8081");

    /// <summary><c>metrics_address</c>.</summary>
    public Uri MetricsAddress { get; init; } = new("http://127.0.0.1:8082");

    /// <summary><c>model_store</c>: the directory archives are registered from.</summary>
    public string? ModelStore { get; init; }

    /// <summary><c>load_models</c>: <c>all</c>, or <c>a.mar,b=b.mar</c>; none when null.</summary>
    public string? LoadModels { get; init; }

    /// <summary><c>disable_token_authorization</c>.</summary>
    public bool DisableTokenAuthorization { get; init; }

    /// <summary><c>token_expiration_min</c>: how long an inference or management key lasts.</summary>
    public double TokenExpirationMinutes { get; init; } = 60;

    /// <summary><c>enable_model_api</c>: register and unregister through the management API.</summary>
    public bool EnableModelApi { get; init; }

    /// <summary><c>enable_metrics_api</c>.</summary>
    public bool EnableMetricsApi { get; init; } = true;

    /// <summary><c>allowed_urls</c>: regular expressions a registration URL must match whole.</summary>
    public IReadOnlyList<string> AllowedUrls { get; init; } = DefaultAllowedUrls;

    /// <summary><c>max_request_size</c>, in bytes.</summary>
    public long MaxRequestSize { get; init; } = 6_553_500;

    /// <summary><c>max_response_size</c>, in bytes.</summary>
    public long MaxResponseSize { get; init; } = 6_553_500;

    /// <summary><c>default_workers_per_model</c>; null lets the server choose.</summary>
    public int? DefaultWorkersPerModel { get; init; }

    /// <summary><c>job_queue_size</c>.</summary>
    public int JobQueueSize { get; init; } = 100;

    /// <summary><c>default_response_timeout</c>, in seconds.</summary>
    public int DefaultResponseTimeout { get; init; } = 120;

    /// <summary><c>max_archive_unpacked_size</c> (ours, not TorchServe's): the most bytes one archive may unpack to.</summary>
    public long MaxArchiveUnpackedSize { get; init; } = ExtractionLimits.DefaultMaxUnpackedBytes;

    /// <summary>Keys present in the file that this server does not honour, with the reason.</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];

    /// <summary>The bounds archives are unpacked within.</summary>
    public ExtractionLimits ExtractionLimits => new() { MaxUnpackedBytes = MaxArchiveUnpackedSize };

    // Keys TorchServe documents that this server does not act on (docs/configuration.md).
    private static readonly HashSet<string> KnownNotHonoured =
    [
        "grpc_inference_address", "grpc_management_address", "grpc_inference_port", "grpc_management_port",
        "enable_grpc_ssl", "private_key_file", "certificate_file", "keystore", "keystore_pass", "keystore_type",
        "cors_allowed_origin", "cors_allowed_methods", "cors_allowed_headers", "number_of_netty_threads",
        "netty_client_threads", "async_logging", "default_startup_timeout", "unregister_model_timeout",
        "decode_input_request", "initial_worker_port", "model_server_home", "limit_max_image_pixels",
        "workflow_store", "disable_system_metrics", "system_metrics_cmd", "install_py_dep_per_model",
        "enable_envvars_config", "use_env_allowed_urls", "blacklist_env_vars", "number_of_gpu", "models",
        "metrics_mode", "metrics_config", "vmargs", "plugins_path", "snapshot_store", "enable_metrics_api_for_inference",
    ];

    /// <summary>Reads a config.properties file.</summary>
    /// <exception cref="ConfigPropertiesException">The file is missing or a value is not what its key needs.</exception>
    public static TorchServeConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigPropertiesException($"No config file at '{Path.GetFullPath(path)}'.");
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses config.properties text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ConfigPropertiesException">A value is not what its key needs.</exception>
    public static TorchServeConfig Parse(string text, string source)
    {
        var config = new TorchServeConfig();
        var ignored = new List<string>();
        List<JavaProperties.Property> properties;
        try
        {
            properties = [.. JavaProperties.Parse(text)];
        }
        catch (ConfigPropertiesException e)
        {
            throw new ConfigPropertiesException($"{source}: {e.Message}");
        }

        foreach (var (key, value, line) in properties)
        {
            ConfigPropertiesException Invalid(string what) => new($"{source} line {line}: {key}={value} is not {what}.");

            config = key switch
            {
                "inference_address" => config with { InferenceAddress = Address(value, Invalid) },
                "management_address" => config with { ManagementAddress = Address(value, Invalid) },
                "metrics_address" => config with { MetricsAddress = Address(value, Invalid) },
                "model_store" => config with { ModelStore = value },
                "load_models" => config with { LoadModels = value.Length == 0 ? null : value },
                "disable_token_authorization" => config with { DisableTokenAuthorization = Boolean(value, Invalid) },
                "token_expiration_min" => config with { TokenExpirationMinutes = Positive(value, Invalid) },
                "enable_model_api" => config with { EnableModelApi = Boolean(value, Invalid) },
                "enable_metrics_api" => config with { EnableMetricsApi = Boolean(value, Invalid) },
                "allowed_urls" => config with { AllowedUrls = Patterns(value, Invalid) },
                "max_request_size" => config with { MaxRequestSize = Count(value, Invalid) },
                "max_response_size" => config with { MaxResponseSize = Count(value, Invalid) },
                "max_archive_unpacked_size" => config with { MaxArchiveUnpackedSize = Count(value, Invalid) },
                "default_workers_per_model" => config with { DefaultWorkersPerModel = (int)Math.Min(Count(value, Invalid), int.MaxValue) },
                "job_queue_size" => config with { JobQueueSize = (int)Math.Min(Count(value, Invalid), int.MaxValue) },
                "default_response_timeout" => config with { DefaultResponseTimeout = (int)Math.Min(Count(value, Invalid), int.MaxValue) },
                _ => Ignore(config, ignored, KnownNotHonoured.Contains(key)
                    ? $"{key} (line {line}): a TorchServe setting this server does not honour"
                    : $"{key} (line {line}): not a TorchServe setting"),
            };
        }
        return config with { Ignored = ignored };
    }

    private static TorchServeConfig Ignore(TorchServeConfig config, List<string> ignored, string reason)
    {
        ignored.Add(reason);
        return config;
    }

    private static Uri Address(string value, Func<string, ConfigPropertiesException> invalid)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
        {
            throw invalid("an address such as http://127.0.0.1:8080");
        }
        if (uri.Scheme == "https")
        {
            throw invalid("supported: https listeners are not built yet (terminate TLS in front of the server)");
        }
        return uri;
    }

    private static bool Boolean(string value, Func<string, ConfigPropertiesException> invalid) =>
        bool.TryParse(value, out var result) ? result : throw invalid("true or false");

    private static long Count(string value, Func<string, ConfigPropertiesException> invalid) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result) && result > 0
            ? result
            : throw invalid("a positive whole number");

    private static double Positive(string value, Func<string, ConfigPropertiesException> invalid) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var result) && result > 0 && double.IsFinite(result)
            ? result
            : throw invalid("a positive number");

    private static string[] Patterns(string value, Func<string, ConfigPropertiesException> invalid)
    {
        var patterns = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var pattern in patterns)
        {
            try
            {
                _ = new Regex(pattern);
            }
            catch (ArgumentException e)
            {
                throw invalid($"a comma-separated list of regular expressions ('{pattern}': {e.Message})");
            }
        }
        return patterns;
    }
}
