namespace Serve.Generators.Model;

/// <summary>One handler's entry in the assembly's registration and endpoint map.</summary>
internal sealed record RegistrationSpec(string HandlerName, string FullyQualifiedName, bool CanExplain);

/// <summary>What the compilation offers the registration: its assembly and what it references.</summary>
/// <param name="AssemblyIdentifier">The assembly name as an identifier: <c>Acme.Vision</c> gives <c>AcmeVision</c>.</param>
/// <param name="HasDependencyInjection">IServiceCollection is referenced (it comes with Serve.Runtime's logging abstractions).</param>
/// <param name="HasServer">Serve.Server is referenced: this is an app, which gets AddServeHandlers() and MapServeEndpoints().</param>
/// <param name="SupportedLanguage">C# 9 or later: older versions get SERVE012 and no code.</param>
internal sealed record CompilationFacts(string AssemblyName, string AssemblyIdentifier, bool HasDependencyInjection, bool HasServer, bool SupportedLanguage);
