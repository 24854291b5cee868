using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Every registered handler by name, from all assemblies that registered some.</summary>
public sealed class HandlerRegistry
{
    private readonly Dictionary<string, HandlerRegistration> _handlers = new(StringComparer.Ordinal);

    public HandlerRegistry(IEnumerable<HandlerRegistration> registrations)
    {
        // Names are looked up as spelled, but two that differ only in case are refused: routing
        // matches /predictions/{name} ignoring case, so both routes would answer 500 (as SERVE007
        // says within one assembly; this is the same rule across the assemblies an app composes).
        var spellings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var registration in registrations)
        {
            if (!spellings.TryAdd(registration.Name, registration.Name))
            {
                throw new InvalidOperationException(
                    $"Two handlers are registered as '{spellings[registration.Name]}' and '{registration.Name}'; handler names must be unique without regard to case.");
            }
            _handlers.Add(registration.Name, registration);
        }
    }

    public IEnumerable<string> Names => _handlers.Keys;

    public bool TryGet(string name, [NotNullWhen(true)] out HandlerRegistration? registration) =>
        _handlers.TryGetValue(name, out registration);
}
