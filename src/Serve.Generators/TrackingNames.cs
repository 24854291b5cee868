namespace Serve.Generators;

/// <summary>Names of the pipeline steps, for incremental-caching tests.</summary>
public static class TrackingNames
{
    public const string Handlers = nameof(Handlers);
    public const string AllHandlers = nameof(AllHandlers);
    public const string Registrations = nameof(Registrations);
    public const string CompilationFacts = nameof(CompilationFacts);
}
