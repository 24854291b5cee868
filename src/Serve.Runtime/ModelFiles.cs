using System;
using System.IO;

namespace Serve.Runtime;

/// <summary>
/// Where a model's files may be: inside its own directory, and nowhere else. A manifest or config
/// that names an absolute path, climbs out with <c>..</c>, or passes through a symbolic link is
/// refused, so an archive cannot make the server load or read a file of its host.
/// </summary>
public static class ModelFiles
{
    /// <summary>Why <paramref name="relativePath"/> cannot name a file inside a model directory, or null when it can.</summary>
    public static string? Problem(string relativePath)
    {
        if (relativePath.Length == 0)
        {
            return "is empty";
        }
        if (relativePath.Contains('\0'))
        {
            return "contains a NUL character";
        }
        if (Path.IsPathRooted(relativePath) || relativePath[0] is '/' or '\\' || (relativePath.Length > 1 && relativePath[1] == ':'))
        {
            return "is an absolute path";
        }
        foreach (var segment in relativePath.Split('/', '\\'))
        {
            if (segment.Trim() == "..")
            {
                return "climbs out of the model directory with '..'";
            }
        }
        return null;
    }

    /// <summary>
    /// The full path of <paramref name="relativePath"/> inside <paramref name="modelDirectory"/>.
    /// <paramref name="what"/> names the file in the error (e.g. "serialized file").
    /// </summary>
    /// <exception cref="ModelLoadException">The path is absolute, climbs out, or passes through a symbolic link.</exception>
    public static string Resolve(string modelDirectory, string relativePath, string what)
    {
        if (Problem(relativePath) is { } problem)
        {
            throw Refused(what, relativePath, problem);
        }
        var root = Path.GetFullPath(modelDirectory);
        var full = Path.GetFullPath(Path.Combine(root, relativePath));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw Refused(what, relativePath, "is outside the model directory");
        }
        // A link inside the directory could point anywhere: refuse every one on the way down.
        var current = root;
        foreach (var segment in Path.GetRelativePath(root, full).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            if (new FileInfo(current).LinkTarget is { } target)
            {
                throw Refused(what, relativePath, $"passes through the symbolic link '{segment}' (to '{target}')");
            }
        }
        return full;
    }

    private static ModelLoadException Refused(string what, string path, string problem) =>
        new($"The {what} '{path.Replace("\0", "\\0", StringComparison.Ordinal)}' {problem}; every file of a model must be inside its own directory.");
}
