using System;

namespace Serve.Runtime;

/// <summary>A handler the generator registered: its name and how to make one.</summary>
public sealed record HandlerRegistration(string Name, Func<IHandler> Create);
