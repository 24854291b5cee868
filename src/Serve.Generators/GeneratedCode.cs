namespace Serve.Generators;

/// <summary>The <c>[GeneratedCode]</c> attribute generated members carry, with this generator's version.</summary>
internal static class GeneratedCode
{
    public static readonly string Attribute =
        $"[global::System.CodeDom.Compiler.GeneratedCode(\"Serve.Generators\", \"{typeof(GeneratedCode).Assembly.GetName().Version?.ToString(3)}\")]";

    public static string Literal(string value) => Microsoft.CodeAnalysis.CSharp.SymbolDisplay.FormatLiteral(value, quote: true);
}
