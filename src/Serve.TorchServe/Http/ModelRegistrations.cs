using System.Collections.Concurrent;

namespace Serve.TorchServe.Http;

/// <summary>Where each served model version came from, for the management API's list and describe answers.</summary>
internal sealed class ModelRegistrations
{
    // Keyed by name for a model loaded at start (its version known only once loaded), by "name/version" for one registered.
    private readonly ConcurrentDictionary<string, (string Url, bool LoadedAtStartup)> _entries = new(System.StringComparer.Ordinal);

    /// <summary>Records that the model <paramref name="name"/> (whichever version it serves) was loaded from <paramref name="url"/>.</summary>
    public void Add(string name, string url, bool loadedAtStartup) => _entries[name] = (url, loadedAtStartup);

    /// <summary>Records that version <paramref name="version"/> of <paramref name="name"/> was registered from <paramref name="url"/>.</summary>
    public void Add(string name, string version, string url) => _entries[Key(name, version)] = (url, false);

    /// <summary>Forgets a model that was unregistered.</summary>
    public void Remove(string name) => _entries.TryRemove(name, out _);

    /// <summary>Forgets one version that was unregistered; the name's own entry goes once no version is left.</summary>
    public void Remove(string name, string version, bool lastVersion)
    {
        _entries.TryRemove(Key(name, version), out _);
        if (lastVersion)
        {
            _entries.TryRemove(name, out _);
        }
    }

    /// <summary>The URL or archive name the model was registered with ("" when not known).</summary>
    public string UrlOf(string name) => _entries.TryGetValue(name, out var entry) ? entry.Url : "";

    /// <summary>The URL or archive name one version was registered with, else the name's ("" when not known).</summary>
    public string UrlOf(string name, string version) => _entries.TryGetValue(Key(name, version), out var entry) ? entry.Url : UrlOf(name);

    /// <summary>True when the model was loaded at start (load_models / --models), as TorchServe tells it: by name.</summary>
    public bool LoadedAtStartup(string name) => _entries.TryGetValue(name, out var entry) && entry.LoadedAtStartup;

    private static string Key(string name, string version) => name + "/" + version;
}
