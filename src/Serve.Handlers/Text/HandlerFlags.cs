using Serve.Runtime;

namespace Serve.Handlers.Text;

/// <summary>Yes/no settings from model-config's <c>handler</c> section.</summary>
internal static class HandlerFlags
{
    public static bool Bool(HandlerContext context, string key, bool defaultValue)
    {
        if (!context.ModelConfig.Handler.TryGetValue(key, out var text))
        {
            return defaultValue;
        }
        return text.ToLowerInvariant() switch
        {
            "true" or "yes" => true,
            "false" or "no" => false,
            _ => throw new ModelLoadException($"Model '{context.ModelName}': handler.{key} in model-config.yaml is '{text}'; it must be true or false."),
        };
    }
}
