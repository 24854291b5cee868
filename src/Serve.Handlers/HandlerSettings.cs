using System.Globalization;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>Reads the built-in handlers' settings from model-config's <c>handler</c> section.</summary>
internal static class HandlerSettings
{
    public static int PositiveInt(HandlerContext context, string key, int defaultValue)
    {
        if (!context.ModelConfig.Handler.TryGetValue(key, out var text))
        {
            return defaultValue;
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': handler.{key} in model-config.yaml is '{text}'; it must be a whole number of at least 1.");
        }
        return value;
    }
}
