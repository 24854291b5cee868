using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Serve.Tests;

namespace Serve.TorchServe.Tests;

public sealed class TokenKeysTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly SettableTime _time = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_key_file_has_TorchServes_shape_and_only_its_owner_may_read_it()
    {
        var keys = new TokenKeys(TimeSpan.FromMinutes(60), _time);
        var path = _temp["key_file.json"];

        keys.WriteKeyFile(path);

        using var json = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(keys.ManagementKey, json.RootElement.GetProperty("management").GetProperty("key").GetString());
        Assert.Equal(keys.InferenceKey, json.RootElement.GetProperty("inference").GetProperty("key").GetString());
        Assert.Equal(keys.ApiKey, json.RootElement.GetProperty("API").GetProperty("key").GetString());
        Assert.Equal("2026-01-01T01:00:00.000000Z", json.RootElement.GetProperty("inference").GetProperty("expiration time").GetString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        Assert.Single(Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void Keys_are_distinct_and_long()
    {
        var keys = new TokenKeys(TimeSpan.FromMinutes(60), _time);

        Assert.Equal(3, new[] { keys.InferenceKey, keys.ManagementKey, keys.ApiKey }.Distinct().Count());
        Assert.All(new[] { keys.InferenceKey, keys.ManagementKey, keys.ApiKey }, key => Assert.Equal(32, key.Length));
        Assert.NotEqual(keys.InferenceKey, new TokenKeys(TimeSpan.FromMinutes(60), _time).InferenceKey);
    }

    [Fact]
    public void Each_API_takes_its_own_key_only()
    {
        var keys = new TokenKeys(TimeSpan.FromMinutes(60), _time);

        Assert.Null(keys.Refusal(ServeApi.Inference, "Bearer " + keys.InferenceKey));
        Assert.Null(keys.Refusal(ServeApi.Management, "bearer " + keys.ManagementKey));
        Assert.Contains("not the current inference key", keys.Refusal(ServeApi.Inference, "Bearer " + keys.ManagementKey));
        Assert.Contains("not the current management key", keys.Refusal(ServeApi.Management, "Bearer " + keys.InferenceKey));
        Assert.Contains("send 'Authorization: Bearer <key>'", keys.Refusal(ServeApi.Inference, null));
        Assert.Contains("send 'Authorization: Bearer <key>'", keys.Refusal(ServeApi.Inference, "Basic " + keys.InferenceKey));
        Assert.Null(keys.Refusal(ServeApi.Metrics, null));
    }

    [Fact]
    public void A_key_expires_and_renewing_gives_a_new_one()
    {
        var keys = new TokenKeys(TimeSpan.FromMinutes(30), _time);
        var old = keys.InferenceKey;
        _time.Advance(TimeSpan.FromMinutes(31));

        Assert.Contains("expired at 2026-01-01T00:30:00", keys.Refusal(ServeApi.Inference, "Bearer " + old));

        keys.Renew(ServeApi.Inference);
        Assert.NotEqual(old, keys.InferenceKey);
        Assert.Null(keys.Refusal(ServeApi.Inference, "Bearer " + keys.InferenceKey));
        Assert.Contains("not the current", keys.Refusal(ServeApi.Inference, "Bearer " + old));
    }
}

/// <summary>A clock tests move by hand.</summary>
public sealed class SettableTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
