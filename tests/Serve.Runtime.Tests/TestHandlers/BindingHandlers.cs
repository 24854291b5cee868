using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Serve.Runtime;

namespace Serve.Runtime.Tests.TestHandlers;

/// <summary>
/// The stage is one of three overloads named Run (issue 14, defect 2): the generated call must
/// reach the attributed one whatever the argument's static type would prefer.
/// </summary>
[Handler("binding-overloads")]
public partial class OverloadedStageHandler
{
    [Preprocess]
    public static string Decode(InferenceRequest request) => Encoding.UTF8.GetString(request.Body.Span);

    [Inference]
    public string[] Run(IEnumerable<string> inputs) => inputs.Select(input => "stage:" + input).ToArray();

    // More specific for an IReadOnlyList<string> argument: C# would pick it for an uncast call.
    public string[] Run(IReadOnlyList<string> inputs) => throw new InvalidOperationException("The helper overload was called instead of the stage.");

    public string[] Run(object inputs) => throw new InvalidOperationException("The object overload was called instead of the stage.");
}

/// <summary>A stage that is an explicit interface implementation.</summary>
[Handler("binding-explicit")]
public partial class ExplicitStageHandler : ExplicitStageHandler.ITranslator
{
    public interface ITranslator
    {
        string[] Translate(IReadOnlyList<InferenceRequest> batch);
    }

    [Inference]
    string[] ITranslator.Translate(IReadOnlyList<InferenceRequest> batch) =>
        batch.Select(request => "explicit:" + Encoding.UTF8.GetString(request.Body.Span)).ToArray();

    public string[] Translate(IReadOnlyList<InferenceRequest> batch) => throw new InvalidOperationException("The class's own method was called instead of the stage.");
}
