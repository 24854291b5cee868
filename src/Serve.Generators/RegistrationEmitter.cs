using System.Linq;
using Serve.Generators.Model;
using static Serve.Generators.GeneratedCode;

namespace Serve.Generators;

/// <summary>
/// Writes the assembly's public registration: <c>{Assembly}ServeRegistration.Handlers</c> and
/// <c>services.Add{Assembly}Handlers()</c>, which an app composes with other assemblies'; in an app
/// (an assembly that references Serve.Server) also <c>services.AddServeHandlers()</c> for its own.
/// </summary>
internal static class RegistrationEmitter
{
    private const string Services = "global::Microsoft.Extensions.DependencyInjection.IServiceCollection";
    private const string Registration = "global::Serve.Runtime.HandlerRegistration";

    public const string HintName = "ServeRegistration.g.cs";

    public static string ClassName(CompilationFacts facts) => facts.AssemblyIdentifier + "ServeRegistration";

    /// <summary><c>AddAcmeVisionHandlers</c> for Acme.Vision; <c>AddVisionHandlers</c>, not <c>AddVisionHandlersHandlers</c>, for VisionHandlers.</summary>
    public static string AddMethodName(CompilationFacts facts) =>
        "Add" + facts.AssemblyIdentifier + (facts.AssemblyIdentifier.EndsWith("Handlers", System.StringComparison.Ordinal) ? "" : "Handlers");

    public static string Emit(EquatableArray<RegistrationSpec> handlers, CompilationFacts facts)
    {
        var assemblyName = facts.AssemblyName;
        var names = string.Join(", ", handlers.Select(h => h.HandlerName));
        var w = new SourceWriter().FileHeader();
        w.Open("namespace Microsoft.Extensions.DependencyInjection");
        w.Line($"/// <summary>The Serve handlers of assembly {Xml(assemblyName)}: {Xml(names)}.</summary>");
        w.Line(Attribute);
        w.Open($"public static class {ClassName(facts)}");
        w.Line("/// <summary>This assembly's handlers, by name, for a host that composes registrations itself.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<{Registration}> Handlers {{ get; }} = new {Registration}[]");
        w.Line("{");
        foreach (var handler in handlers)
        {
            w.Line($"    new {Registration}({Literal(handler.HandlerName)}, static () => new {handler.FullyQualifiedName}()),");
        }
        w.Line("};");

        if (facts.HasDependencyInjection)
        {
            w.Line();
            w.Line($"/// <summary>Registers the Serve handlers of assembly {Xml(assemblyName)}: {Xml(names)}.</summary>");
            w.Open($"public static {Services} {AddMethodName(facts)}(this {Services} services)");
            w.Open($"foreach ({Registration} handler in Handlers)");
            w.Line("global::Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, handler);");
            w.Close();
            w.Line("return services;");
            w.Close();

            // An assembly named Serve (or ServeHandlers) has AddServeHandlers() already, public.
            if (facts.HasServer && AddMethodName(facts) != "AddServeHandlers")
            {
                w.Line();
                w.Line($"/// <summary>Registers this app's own Serve handlers ({Xml(names)}); other assemblies' are added by their own <c>Add...Handlers()</c>.</summary>");
                w.Line($"internal static {Services} AddServeHandlers(this {Services} services) => {AddMethodName(facts)}(services);");
            }
        }
        w.Close();
        w.Close();
        return w.ToString();
    }

    /// <summary>Text for a one-line doc comment: XML's markup escaped, and control characters (a newline would end the comment) as character references.</summary>
    private static string Xml(string text)
    {
        var escaped = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            _ = c switch
            {
                '&' => escaped.Append("&amp;"),
                '<' => escaped.Append("&lt;"),
                '>' => escaped.Append("&gt;"),
                < ' ' => escaped.Append("&#x").Append(((int)c).ToString("X", System.Globalization.CultureInfo.InvariantCulture)).Append(';'),
                _ => escaped.Append(c),
            };
        }
        return escaped.ToString();
    }
}
