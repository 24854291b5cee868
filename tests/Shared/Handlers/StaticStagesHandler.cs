using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Tests.Handlers;

/// <summary>
/// Every stage static, with an [Explain] stage. Static stages have no instance to record on, so
/// they record into <see cref="Log"/> under the model name of the context they get.
/// </summary>
[Handler("stages-static")]
public partial class StaticStagesHandler
{
    public static readonly ConcurrentDictionary<string, List<string>> Log = new();

    public static readonly ConcurrentDictionary<string, CancellationToken> ExplainTokens = new();

    [Initialize]
    public static ValueTask Load(HandlerContext context)
    {
        Record(context, "initialize");
        return ValueTask.CompletedTask;
    }

    [Preprocess]
    public static string Decode(InferenceRequest request, HandlerContext context)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        Record(context, "preprocess " + text);
        return text;
    }

    [Inference]
    public static Task<string[]> Run(HandlerContext context, IReadOnlyList<string> inputs)
    {
        Record(context, "inference " + string.Join(",", inputs));
        return Task.FromResult(inputs.Select(input => input + "!").ToArray());
    }

    [Postprocess]
    public static string[] Shape(string[] outputs, HandlerContext context)
    {
        Record(context, "postprocess " + string.Join(",", outputs));
        return outputs;
    }

    [Explain]
    public static async ValueTask<string[]> Why(IReadOnlyList<string> inputs, HandlerContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        ExplainTokens[context.ModelName] = cancellationToken;
        Record(context, "explain " + string.Join(",", inputs));
        return inputs.Select(input => "because " + input).ToArray();
    }

    public static List<string> CallsFor(HandlerContext context) => Log.GetOrAdd(context.ModelName, _ => []);

    private static void Record(HandlerContext context, string call)
    {
        var calls = CallsFor(context);
        lock (calls)
        {
            calls.Add(call);
        }
    }
}
