using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.TestHandlers;

/// <summary>Every stage synchronous; a per-request preprocess; no [Explain].</summary>
[Handler("stages-sync")]
public partial class SyncStagesHandler
{
    public List<string> Calls { get; } = [];

    [Initialize]
    public void Load() => Calls.Add("initialize");

    [Preprocess]
    public string Decode(InferenceRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        Calls.Add("preprocess " + text);
        return text;
    }

    [Inference]
    public string[] Run(IReadOnlyList<string> inputs)
    {
        Calls.Add("inference " + string.Join(",", inputs));
        return inputs.Select(input => input.ToUpperInvariant()).ToArray();
    }

    [Postprocess]
    public List<string> Shape(string[] outputs)
    {
        Calls.Add("postprocess " + string.Join(",", outputs));
        return outputs.Select(output => "<" + output + ">").ToList();
    }
}

/// <summary>Every stage returns Task or Task&lt;T&gt;; a whole-batch preprocess; context and token in any order.</summary>
[Handler("stages-task")]
public partial class TaskStagesHandler
{
    public List<string> Calls { get; } = [];

    public List<(string Stage, HandlerContext Context, CancellationToken Token)> Seen { get; } = [];

    [Initialize]
    public async Task Load(CancellationToken cancellationToken, HandlerContext context)
    {
        await Task.Yield();
        Seen.Add(("initialize", context, cancellationToken));
        Calls.Add("initialize");
    }

    [Preprocess]
    public async Task<string[]> Decode(HandlerContext context, IReadOnlyList<InferenceRequest> batch, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Seen.Add(("preprocess", context, cancellationToken));
        Calls.Add("preprocess " + batch.Count);
        return batch.Select(request => Encoding.UTF8.GetString(request.Body.Span)).ToArray();
    }

    [Inference]
    public async Task<int[]> Run(string[] inputs, CancellationToken cancellationToken, HandlerContext context)
    {
        await Task.Delay(1, cancellationToken);
        Seen.Add(("inference", context, cancellationToken));
        Calls.Add("inference " + string.Join(",", inputs));
        return inputs.Select(input => input.Length).ToArray();
    }

    [Postprocess]
    public async Task<IReadOnlyList<string>> Shape(HandlerContext context, int[] lengths, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Seen.Add(("postprocess", context, cancellationToken));
        Calls.Add("postprocess " + string.Join(",", lengths));
        return lengths.Select(length => "length " + length).ToArray();
    }
}

/// <summary>Every stage returns ValueTask or ValueTask&lt;T&gt; and really awaits; a per-request preprocess.</summary>
[Handler("stages-valuetask")]
public partial class ValueTaskStagesHandler
{
    public List<string> Calls { get; } = [];

    public List<(string Stage, HandlerContext Context, CancellationToken Token)> Seen { get; } = [];

    [Initialize]
    public async ValueTask Load(HandlerContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Seen.Add(("initialize", context, cancellationToken));
        Calls.Add("initialize");
    }

    [Preprocess]
    public async ValueTask<string> Decode(InferenceRequest request, CancellationToken cancellationToken, HandlerContext context)
    {
        await Task.Yield();
        Seen.Add(("preprocess", context, cancellationToken));
        var text = Encoding.UTF8.GetString(request.Body.Span);
        Calls.Add("preprocess " + text);
        return text;
    }

    [Inference]
    public async ValueTask<List<string>> Run(IReadOnlyList<string> inputs, HandlerContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Seen.Add(("inference", context, cancellationToken));
        Calls.Add("inference " + string.Join(",", inputs));
        return inputs.Reverse().ToList();
    }

    [Postprocess]
    public async ValueTask<string[]> Shape(List<string> outputs, CancellationToken cancellationToken, HandlerContext context)
    {
        await Task.Yield();
        Seen.Add(("postprocess", context, cancellationToken));
        Calls.Add("postprocess " + string.Join(",", outputs));
        return outputs.ToArray();
    }
}

/// <summary>No [Initialize]: the default initialize runs, and with no serialized file it loads nothing.</summary>
[Handler("stages-default-initialize")]
public partial class DefaultInitializeHandler
{
    [Inference]
    public static string[] Run(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => Encoding.UTF8.GetString(request.Body.Span)).ToArray();
}
