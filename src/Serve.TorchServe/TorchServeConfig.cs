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
public sealed partial record TorchServeConfig
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

    /// <summary>
    /// <c>otlp_endpoint</c> (ours, not TorchServe's): where traces go, an OpenTelemetry collector's OTLP
    /// endpoint: gRPC (http://host:4317), or HTTP/protobuf when the path is /v1/traces. None when null.
    /// </summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary><c>disable_system_metrics</c>: no CPUUtilization, MemoryUsed, ... on the metrics API.</summary>
    public bool DisableSystemMetrics { get; init; }

    /// <summary><c>enable_envvars_config</c>: <c>TS_&lt;KEY&gt;</c> environment variables override keys (see <see cref="WithEnvironment"/>).</summary>
    public bool EnableEnvVarsConfig { get; init; }

    /// <summary><c>use_env_allowed_urls</c>: lets <c>TS_ALLOWED_URLS</c> set allowed_urls (TorchServe refuses it otherwise).</summary>
    public bool UseEnvAllowedUrls { get; init; }

    /// <summary><c>certificate_file</c>: the PEM certificate (chain) of https listeners.</summary>
    public string? CertificateFile { get; init; }

    /// <summary><c>private_key_file</c>: the PEM private key of https listeners.</summary>
    public string? PrivateKeyFile { get; init; }

    /// <summary><c>keystore</c>: a PKCS12 file with the key and certificate of https listeners; wins over the PEM pair, as in TorchServe.</summary>
    public string? Keystore { get; init; }

    /// <summary><c>keystore_pass</c>; TorchServe's default is <c>changeit</c>.</summary>
    public string KeystorePass { get; init; } = "changeit";

    /// <summary><c>keystore_type</c>: only PKCS12 (TorchServe's default) is read.</summary>
    public string KeystoreType { get; init; } = "PKCS12";

    /// <summary>True when any listener's address is https.</summary>
    public bool UsesHttps => new[] { InferenceAddress, ManagementAddress, MetricsAddress }.Any(address => address.Scheme == Uri.UriSchemeHttps);

    /// <summary>Keys present in the file that this server does not honour, with the reason.</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];

    /// <summary>The bounds archives are unpacked within.</summary>
    public ExtractionLimits ExtractionLimits => new() { MaxUnpackedBytes = MaxArchiveUnpackedSize };

    // Keys TorchServe documents that this server does not act on (docs/configuration.md).
    private static readonly HashSet<string> KnownNotHonoured =
    [
        "grpc_inference_address", "grpc_management_address", "grpc_inference_port", "grpc_management_port",
        "enable_grpc_ssl",
        "cors_allowed_origin", "cors_allowed_methods", "cors_allowed_headers", "number_of_netty_threads",
        "netty_client_threads", "async_logging", "default_startup_timeout", "unregister_model_timeout",
        "decode_input_request", "initial_worker_port", "model_server_home", "limit_max_image_pixels",
        "workflow_store", "system_metrics_cmd", "install_py_dep_per_model", "blacklist_env_vars", "number_of_gpu", "models",
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

    /// <summary>
    /// Parses config.properties text; <paramref name="source"/> names it in errors. A value may
    /// name environment variables as TorchServe allows, <c>$$NAME$$</c>; a variable not set is an error.
    /// </summary>
    /// <exception cref="ConfigPropertiesException">A value is not what its key needs.</exception>
    public static TorchServeConfig Parse(string text, string source, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
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

        foreach (var (key, raw, line) in properties)
        {
            var value = Substitute(raw, environment, $"{source} line {line}: {key}");
            config = Apply(config, key, value, $"{source} line {line}: {key}={value}", ignored, $"{key} (line {line})");
        }
        return config with { Ignored = ignored };
    }

    /// <summary>
    /// When <see cref="EnableEnvVarsConfig"/> is on, this config with TorchServe's <c>TS_&lt;KEY&gt;</c>
    /// environment variables applied over it (ConfigManager.setSystemVars: the variable is named
    /// <c>TS_</c> and the key in capitals, <c>TS_INFERENCE_ADDRESS</c>; a few keys keep
    /// TorchServe's own spelling, <c>TS_TOKEN_EXPIRATION_TIME_MIN</c>). As in TorchServe they win
    /// over the file and the command line, and <c>TS_ALLOWED_URLS</c> counts only with
    /// <c>use_env_allowed_urls=true</c>. Otherwise this config unchanged.
    /// </summary>
    /// <exception cref="ConfigPropertiesException">A variable's value is not what its key needs.</exception>
    public TorchServeConfig WithEnvironment(Func<string, string?>? environment = null)
    {
        if (!EnableEnvVarsConfig)
        {
            return this;
        }
        environment ??= Environment.GetEnvironmentVariable;
        var config = this;
        var ignored = new List<string>(Ignored);
        foreach (var (variable, key) in EnvironmentVariables)
        {
            if (environment(variable) is not { } value || (key == "allowed_urls" && !UseEnvAllowedUrls))
            {
                continue;
            }
            config = Apply(config, key, value, $"Environment variable {variable}={value}", ignored, $"{key} (environment variable {variable})");
        }
        return config with { Ignored = ignored };
    }

    /// <summary>The TS_ variable of each key TorchServe lets the environment set (its ConfigManager's TS_ fields).</summary>
    public static IReadOnlyList<(string Variable, string Key)> EnvironmentVariables { get; } = BuildEnvironmentVariables();

    private static (string, string)[] BuildEnvironmentVariables()
    {
        string[] keys =
        [
            "debug", "inference_address", "management_address", "metrics_address", "load_models", "blacklist_env_vars",
            "default_workers_per_model", "default_response_timeout", "default_startup_timeout", "unregister_model_timeout",
            "number_of_netty_threads", "netty_client_threads", "job_queue_size", "number_of_gpu", "metrics_config", "metrics_mode",
            "model_metrics_auto_detect", "disable_system_metrics", "ipex_enable", "cpu_launcher_enable", "cpu_launcher_args",
            "ipex_gpu_enable", "async_logging", "cors_allowed_origin", "cors_allowed_methods", "cors_allowed_headers",
            "decode_input_request", "keystore", "keystore_pass", "keystore_type", "certificate_file", "private_key_file",
            "max_request_size", "max_response_size", "limit_max_image_pixels", "default_service_handler", "service_envelope",
            "model_server_home", "model_store", "prefer_direct_buffer", "allowed_urls", "install_py_dep_per_model",
            "enable_metrics_api", "grpc_inference_address", "grpc_management_address", "grpc_inference_port",
            "grpc_management_port", "grpc_inference_max_connection_age_ms", "grpc_management_max_connection_age_ms",
            "grpc_inference_max_connection_age_grace_ms", "grpc_management_max_connection_age_grace_ms", "enable_grpc_ssl",
            "initial_worker_port", "initial_distribution_port", "workflow_store", "cpp_log_config", "disable_token_authorization",
            "enable_model_api",
        ];
        return
        [
            .. keys.Select(key => ("TS_" + key.ToUpperInvariant(), key)),
            ("TS_TOKEN_EXPIRATION_TIME_MIN", "token_expiration_min"),
            ("TS_OPEN_INFERENCE_PROTOCOL", "ts_open_inference_protocol"),
            ("TS_HEADER_KEY_SEQUENCE_ID", "ts_header_key_sequence_id"),
            ("TS_HEADER_KEY_SEQUENCE_START", "ts_header_key_sequence_start"),
            ("TS_HEADER_KEY_SEQUENCE_END", "ts_header_key_sequence_end"),
        ];
    }

    /// <summary>TorchServe's <c>$$NAME$$</c> references to environment variables, replaced by their values.</summary>
    private static string Substitute(string value, Func<string, string?> environment, string where) =>
        EnvironmentReference().Replace(value, match =>
            environment(match.Groups[1].Value)
            ?? throw new ConfigPropertiesException($"{where} names the environment variable {match.Groups[1].Value} ($${match.Groups[1].Value}$$), which is not set."));

    [GeneratedRegex(@"\$\$([^$]+[^$])\$\$")]
    private static partial Regex EnvironmentReference();

    private static TorchServeConfig Apply(TorchServeConfig config, string key, string value, string where, List<string> ignored, string what)
    {
        ConfigPropertiesException Invalid(string expected) => new($"{where} is not {expected}.");

        return key switch
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
            "otlp_endpoint" => config with { OtlpEndpoint = OtlpEndpointAddress(value, Invalid) },
            "disable_system_metrics" => config with { DisableSystemMetrics = Boolean(value, Invalid) },
            "enable_envvars_config" => config with { EnableEnvVarsConfig = Boolean(value, Invalid) },
            "use_env_allowed_urls" => config with { UseEnvAllowedUrls = Boolean(value, Invalid) },
            "certificate_file" => config with { CertificateFile = value },
            "private_key_file" => config with { PrivateKeyFile = value },
            "keystore" => config with { Keystore = value },
            "keystore_pass" => config with { KeystorePass = value },
            "keystore_type" => config with { KeystoreType = string.Equals(value, "PKCS12", StringComparison.OrdinalIgnoreCase) ? value : throw Invalid("PKCS12 (the only keystore type this server reads; convert a JKS keystore with `keytool -importkeystore -deststoretype PKCS12`)") },
            _ => Ignore(config, ignored, KnownNotHonoured.Contains(key)
                ? $"{what}: a TorchServe setting this server does not honour"
                : $"{what}: not a TorchServe setting"),
        };
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
        return uri;
    }

    /// <summary>An OTLP endpoint: an absolute http(s) address, e.g. http://127.0.0.1:4317 or http://collector:4318/v1/traces.</summary>
    public static Uri OtlpEndpointAddress(string value, Func<string, ConfigPropertiesException> invalid) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is ("http" or "https")
            ? uri
            : throw invalid("an OTLP endpoint such as http://127.0.0.1:4317 (gRPC) or http://127.0.0.1:4318/v1/traces (HTTP/protobuf)");

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
