using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Serve.TorchServe;

/// <summary>The API a request is addressed to; each listener serves one.</summary>
internal enum ServeApi
{
    /// <summary>Predictions and explanations (inference_address).</summary>
    Inference,

    /// <summary>Registering, scaling, describing models (management_address).</summary>
    Management,

    /// <summary>Prometheus metrics (metrics_address); not token-protected, as in TorchServe.</summary>
    Metrics,
}

/// <summary>
/// TorchServe's token authorization keys: an inference key, a management key (each expiring
/// after <c>token_expiration_min</c>) and an API key that renews them, generated at start from a
/// cryptographic random source and written to <c>key_file.json</c> readable by its owner only.
/// </summary>
internal sealed class TokenKeys
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly object _gate = new();
    private Key _inference;
    private Key _management;

    private readonly record struct Key(string Value, DateTimeOffset Expires);

    /// <summary>Generates fresh keys.</summary>
    public TokenKeys(TimeSpan lifetime, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _lifetime = lifetime;
        _inference = NewKey();
        _management = NewKey();
        ApiKey = NewKey().Value;
    }

    /// <summary>The key that renews the others (<c>GET /token?type=</c> on the management API).</summary>
    public string ApiKey { get; }

    /// <summary>The current inference key.</summary>
    public string InferenceKey { get { lock (_gate) { return _inference.Value; } } }

    /// <summary>The current management key.</summary>
    public string ManagementKey { get { lock (_gate) { return _management.Value; } } }

    /// <summary>Replaces the inference or management key with a new one that expires a full lifetime from now.</summary>
    public void Renew(ServeApi api)
    {
        lock (_gate)
        {
            if (api == ServeApi.Inference)
            {
                _inference = NewKey();
            }
            else if (api == ServeApi.Management)
            {
                _management = NewKey();
            }
        }
    }

    /// <summary>
    /// Checks an <c>Authorization</c> header for <paramref name="api"/>; null when it is
    /// accepted, otherwise why not, worded for the client.
    /// </summary>
    public string? Refusal(ServeApi api, string? authorization)
    {
        if (api == ServeApi.Metrics)
        {
            return null;
        }
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return $"This API needs the {Name(api)} key from key_file.json: send 'Authorization: Bearer <key>'.";
        }
        var presented = authorization.AsSpan(Scheme.Length).Trim();
        Key expected;
        lock (_gate)
        {
            expected = api == ServeApi.Inference ? _inference : _management;
        }
        if (!FixedTimeEquals(presented, expected.Value))
        {
            return $"The key is not the current {Name(api)} key in key_file.json.";
        }
        return _time.GetUtcNow() >= expected.Expires
            ? $"The {Name(api)} key expired at {expected.Expires:O}; renew it with GET /token?type={Name(api)} and the API key."
            : null;
    }

    /// <summary>True when <paramref name="authorization"/> carries the API key.</summary>
    public bool IsApiKey(string? authorization) =>
        authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && FixedTimeEquals(authorization.AsSpan(7).Trim(), ApiKey);

    /// <summary>Writes the keys in TorchServe's key_file.json shape, readable and writable by the owner only.</summary>
    public void WriteKeyFile(string path)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            lock (_gate)
            {
                json.WriteStartObject();
                WriteKey(json, "management", _management);
                WriteKey(json, "inference", _inference);
                json.WriteStartObject("API");
                json.WriteString("key", ApiKey);
                json.WriteEndObject();
                json.WriteEndObject();
            }
        }

        // Written to a new owner-only file, then moved over the old one: there is never a moment
        // when the keys sit in a file others can read.
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new FileStream(temporary, options))
        {
            file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteKey(Utf8JsonWriter json, string name, Key key)
    {
        json.WriteStartObject(name);
        json.WriteString("key", key.Value);
        json.WriteString("expiration time", key.Expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteEndObject();
    }

    private Key NewKey() =>
        new(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_'), _time.GetUtcNow() + _lifetime);

    private static bool FixedTimeEquals(ReadOnlySpan<char> presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented.ToString()), Encoding.UTF8.GetBytes(expected));

    private static string Name(ServeApi api) => api == ServeApi.Inference ? "inference" : "management";
}
