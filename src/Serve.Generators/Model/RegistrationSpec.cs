namespace Serve.Generators.Model;

/// <summary>One handler's entry in the assembly's registry and endpoint map.</summary>
internal sealed record RegistrationSpec(string HandlerName, string FullyQualifiedName, bool CanExplain);
