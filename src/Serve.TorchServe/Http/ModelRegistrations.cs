using System.Collections.Concurrent;

namespace Serve.TorchServe.Http;

/// <summary>Where each served model came from, for the management API's list and describe answers.</summary>
public sealed class ModelRegistrations
{
    private readonly ConcurrentDictionary<string, (string Url, bool LoadedAtStartup)> _byName = new(System.StringComparer.Ordinal);

    /// <summary>Records that <paramref name="name"/> was loaded from <paramref name="url"/>.</summary>
    public void Add(string name, string url, bool loadedAtStartup) => _byName[name] = (url, loadedAtStartup);

    /// <summary>Forgets a model that was unregistered.</summary>
    public void Remove(string name) => _byName.TryRemove(name, out _);

    /// <summary>The URL or archive name the model was registered with ("" when not known).</summary>
    public string UrlOf(string name) => _byName.TryGetValue(name, out var entry) ? entry.Url : "";

    /// <summary>True when the model was loaded at start (load_models / --models).</summary>
    public bool LoadedAtStartup(string name) => _byName.TryGetValue(name, out var entry) && entry.LoadedAtStartup;
}
