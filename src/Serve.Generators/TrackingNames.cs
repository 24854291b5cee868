namespace Serve.Generators;

/// <summary>Names of the pipeline steps, for incremental-caching tests.</summary>
public static class TrackingNames
{
    public const string Handlers = nameof(Handlers);
    public const string Registrations = nameof(Registrations);
    public const string HostingSupport = nameof(HostingSupport);
}
