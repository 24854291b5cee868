using System;
using System.Collections.Concurrent;
using System.IO;

namespace Serve.TorchServe.Http;

/// <summary>
/// The directory archives are unpacked into while the server runs. Each registration unpacks into
/// a subdirectory of its own (<see cref="Reserve"/>), deleted when the registration fails at any
/// step, and, once kept by a served model, when that model is unregistered. So disk comes back on
/// every path: success, 409, a refused or broken archive, a failed load, a failed download.
/// </summary>
public sealed class ModelWorkDirectory(string path)
{
    private readonly ConcurrentDictionary<(string Name, string Version), string> _served = new();

    /// <summary>The directory itself.</summary>
    public string Path { get; } = path;

    /// <summary>A fresh subdirectory for one registration: deleted on dispose unless <see cref="Registration.Keep"/> was called.</summary>
    public Registration Reserve() => new(this, System.IO.Path.Combine(Path, Guid.NewGuid().ToString("N")));

    /// <summary>Records that version <paramref name="version"/> of <paramref name="name"/> serves from <paramref name="directory"/>, which is deleted when it is unregistered.</summary>
    public void Adopt(string name, string version, string directory) => _served[(name, version)] = directory;

    /// <summary>Deletes the directory the unregistered <paramref name="name"/> <paramref name="version"/> served from, if it was unpacked here.</summary>
    public void Release(string name, string version)
    {
        if (_served.TryRemove((name, version), out var directory))
        {
            Delete(directory);
        }
    }

    private static void Delete(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>One registration's directory.</summary>
    public sealed class Registration(ModelWorkDirectory owner, string path) : IDisposable
    {
        private bool _kept;

        /// <summary>The registration's directory (not created until something is written).</summary>
        public string Path { get; } = path;

        /// <summary>The model is served from here now: the directory stays until it is unregistered.</summary>
        public void Keep(string name, string version)
        {
            owner.Adopt(name, version, Path);
            _kept = true;
        }

        /// <summary>Deletes the directory unless it was kept.</summary>
        public void Dispose()
        {
            if (!_kept)
            {
                Delete(Path);
            }
        }
    }
}
