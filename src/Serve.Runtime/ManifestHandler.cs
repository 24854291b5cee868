using System;

namespace Serve.Runtime;

/// <summary>How a manifest's <c>handler</c> names a handler compiled into the server.</summary>
public static class ManifestHandler
{
    /// <summary>
    /// The registered handler name for a manifest's <c>handler</c>: a built-in name stays as it is
    /// (<c>image_classifier</c>); TorchServe's handler file forms name the handler by the file's
    /// stem (<c>handlers/digits.py</c> and <c>digits.py:handle</c> → <c>digits</c>). No file is read:
    /// the handler must be compiled into the app.
    /// </summary>
    public static string RegisteredName(string handler)
    {
        var name = handler;
        var entryPoint = name.LastIndexOf(':');
        if (entryPoint > 0)
        {
            name = name[..entryPoint];
        }
        name = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        return name.EndsWith(".py", StringComparison.Ordinal) ? name[..^3] : name;
    }
}
