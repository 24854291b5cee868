using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Every registered handler by name, from all assemblies that registered some.</summary>
public sealed class HandlerRegistry
{
    private readonly Dictionary<string, HandlerRegistration> _handlers = new(StringComparer.OrdinalIgnoreCase); // As URLs match model names.

    public HandlerRegistry(IEnumerable<HandlerRegistration> registrations)
    {
        foreach (var registration in registrations)
        {
            if (!_handlers.TryAdd(registration.Name, registration))
            {
                throw new InvalidOperationException(
                    $"Two handlers are registered as '{registration.Name}'; handler names must be unique without regard to case.");
            }
        }
    }

    public IEnumerable<string> Names => _handlers.Keys;

    public bool TryGet(string name, [NotNullWhen(true)] out HandlerRegistration? registration) =>
        _handlers.TryGetValue(name, out registration);
}
