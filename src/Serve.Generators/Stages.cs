using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>
/// The handler stages, in pipeline order. Each name is also the stage's attribute
/// (<c>Serve.{Name}Attribute</c>) and its <c>Serve.Runtime.HandlerStage</c> member.
/// </summary>
internal enum Stage
{
    Initialize,
    Preprocess,
    Inference,
    Postprocess,
    Explain,
}

/// <summary>The one table that maps stage attributes to stages.</summary>
internal static class Stages
{
    public static readonly Stage[] All = { Stage.Initialize, Stage.Preprocess, Stage.Inference, Stage.Postprocess, Stage.Explain };

    /// <summary>The stage an attribute marks, or null for any other attribute.</summary>
    public static Stage? Of(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null
            || attributeClass.ContainingNamespace is not { Name: "Serve", ContainingNamespace.IsGlobalNamespace: true }
            || !attributeClass.Name.EndsWith("Attribute", System.StringComparison.Ordinal))
        {
            return null;
        }
        var name = attributeClass.Name.Substring(0, attributeClass.Name.Length - "Attribute".Length);
        foreach (var stage in All)
        {
            if (stage.ToString() == name)
            {
                return stage;
            }
        }
        return null;
    }
}
