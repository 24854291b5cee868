using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>
/// Whether passing one stage's output to the next is sound for nullable reference types, which
/// Roslyn's public conversion API ignores: an unsound pass would be a warning in generated code.
/// </summary>
internal static class Nullability
{
    /// <summary>
    /// True when a value of <paramref name="from"/> passes to <paramref name="to"/> without a nullability
    /// warning: no annotated (?) reference where an unannotated one is taken, at the top or inside type
    /// arguments (following each type parameter's variance) and array elements. Oblivious types fit anything.
    /// </summary>
    public static bool Fits(ITypeSymbol from, ITypeSymbol to)
    {
        if (from.NullableAnnotation == NullableAnnotation.Annotated && to.NullableAnnotation == NullableAnnotation.NotAnnotated
            && !from.IsValueType && !to.IsValueType)
        {
            return false;
        }
        if (from is IArrayTypeSymbol fromArray)
        {
            return to switch
            {
                IArrayTypeSymbol toArray => Fits(fromArray.ElementType, toArray.ElementType),
                INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } toCollection =>
                    FitsAs(fromArray.ElementType, toCollection.TypeArguments[0], toCollection.OriginalDefinition.TypeParameters[0].Variance),
                _ => true,
            };
        }
        if (to is not INamedTypeSymbol { IsGenericType: true } target)
        {
            return true;
        }
        var source = SelfBasesAndInterfaces(from).FirstOrDefault(t => SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, target.OriginalDefinition));
        if (source is null)
        {
            return true;
        }
        var parameters = target.OriginalDefinition.TypeParameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (!FitsAs(source.TypeArguments[i], target.TypeArguments[i], parameters[i].Variance))
            {
                return false;
            }
        }
        return true;

        static bool FitsAs(ITypeSymbol source, ITypeSymbol target, VarianceKind variance) => variance switch
        {
            VarianceKind.Out => Fits(source, target),
            VarianceKind.In => Fits(target, source),
            _ => Fits(source, target) && Fits(target, source),
        };
    }

    private static IEnumerable<INamedTypeSymbol> SelfBasesAndInterfaces(ITypeSymbol type)
    {
        for (var current = type as INamedTypeSymbol; current is not null; current = current.BaseType)
        {
            yield return current;
        }
        foreach (var implemented in type.AllInterfaces)
        {
            yield return implemented;
        }
    }
}
