using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Tests;

/// <summary>Listens to serve.tensor.copies for one model while an action runs.</summary>
public static class CopyCounter
{
    public static async Task<List<string>> Count(string modelName, Func<Task> run)
    {
        var reasons = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == TensorCopies.InstrumentName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? model = null, reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "ModelName") model = tag.Value as string;
                if (tag.Key == "Reason") reason = tag.Value as string;
            }
            if (model == modelName)
            {
                lock (reasons)
                {
                    reasons.Add(reason!);
                }
            }
        });
        listener.Start();
        await run();
        return reasons;
    }
}
