using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>A model being served: its context and the worker that runs its handler.</summary>
public sealed class ServedModel(HandlerContext context, ModelWorker worker)
{
    public string Name => Context.ModelName;

    public HandlerContext Context { get; } = context;

    public ModelWorker Worker { get; } = worker;
}

/// <summary>The models this server answers for, by name.</summary>
public sealed class ModelRegistry
{
    private readonly ConcurrentDictionary<string, ServedModel> _models = new(StringComparer.Ordinal);

    public ICollection<ServedModel> Models => _models.Values;

    public bool TryGet(string name, [NotNullWhen(true)] out ServedModel? model) => _models.TryGetValue(name, out model);

    public void Add(ServedModel model)
    {
        if (!_models.TryAdd(model.Name, model))
        {
            throw new InvalidOperationException($"A model named '{model.Name}' is already being served.");
        }
    }

    internal bool TryRemove(string name, [NotNullWhen(true)] out ServedModel? model) => _models.TryRemove(name, out model);
}
