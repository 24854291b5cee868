using System.Text.RegularExpressions;

namespace Serve.Runtime;

/// <summary>
/// Which model names and versions can be served: TorchServe's archiver rule
/// (<c>^[A-Za-z0-9][A-Za-z0-9_\-.]*$</c>), applied to every name however it arrives (manifest,
/// <c>model_name</c>, configuration), and bounded in length. A name outside it could not be
/// addressed in a URL path (<c>z/0</c>, <c>..</c>, a NUL), so it could never be predicted,
/// described or removed again.
/// </summary>
public static partial class ModelNames
{
    /// <summary>The longest name or version.</summary>
    public const int MaxLength = 128;

    /// <summary>Why <paramref name="value"/> cannot be a model name or version, or null when it can.</summary>
    public static string? Problem(string value) =>
        value.Length == 0 ? "is empty"
        : value.Length > MaxLength ? $"is {value.Length} characters long"
        : Allowed().IsMatch(value) ? null
        : "has a character a URL path cannot carry";

    /// <summary>Refuses a name or version outside the rule.</summary>
    /// <param name="value">The name or version.</param>
    /// <param name="what">"model name" or "model version", for the message.</param>
    /// <exception cref="ModelLoadException">The value breaks the rule; the message says how.</exception>
    public static void Validate(string value, string what)
    {
        if (Problem(value) is { } problem)
        {
            throw new ModelLoadException(
                $"The {what} '{value.Replace("\0", "\\0", System.StringComparison.Ordinal)}' {problem}: it must start with a letter or digit and hold only letters, digits, '_', '-' and '.', at most {MaxLength} characters.");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_\-.]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();
}
