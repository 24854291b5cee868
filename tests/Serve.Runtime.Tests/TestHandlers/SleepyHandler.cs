using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Serve.Runtime;

namespace Serve.Runtime.Tests.TestHandlers;

/// <summary>Sleeps 200 ms (far above scheduling noise on a loaded machine) in the stage a request body names ("sleep:inference"...), nowhere else.</summary>
[Handler("metrics-sleepy")]
public partial class SleepyHandler
{
    public const int SleepMilliseconds = 200;

    [Preprocess]
    public static string Decode(InferenceRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body.Span);
        SleepIf(text == "sleep:preprocess");
        return text;
    }

    [Inference]
    public static string[] Run(IReadOnlyList<string> inputs)
    {
        SleepIf(inputs.Contains("sleep:inference"));
        return inputs.ToArray();
    }

    [Postprocess]
    public static string[] Shape(string[] outputs)
    {
        SleepIf(outputs.Contains("sleep:postprocess"));
        return outputs;
    }

    [Explain]
    public static string[] Why(IReadOnlyList<string> inputs)
    {
        SleepIf(inputs.Contains("sleep:explain"));
        return inputs.ToArray();
    }

    private static void SleepIf(bool sleep)
    {
        if (sleep)
        {
            Thread.Sleep(SleepMilliseconds);
        }
    }
}
