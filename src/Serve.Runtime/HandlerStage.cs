namespace Serve.Runtime;

/// <summary>The stages of a handler, TorchServe's names.</summary>
public enum HandlerStage
{
    /// <summary>Loads the model (TorchServe's <c>initialize</c>).</summary>
    Initialize,
    /// <summary>Turns requests into model input.</summary>
    Preprocess,
    /// <summary>Runs the model.</summary>
    Inference,
    /// <summary>Turns model output into one result per request.</summary>
    Postprocess,
    /// <summary>Explains a prediction.</summary>
    Explain,
}

/// <summary>Names of <see cref="HandlerStage"/> values.</summary>
public static class HandlerStageExtensions
{
    /// <summary>The stage's name as TorchServe users know it: "preprocess", "inference"...</summary>
    public static string DisplayName(this HandlerStage stage) => stage switch
    {
        HandlerStage.Initialize => "initialize",
        HandlerStage.Preprocess => "preprocess",
        HandlerStage.Inference => "inference",
        HandlerStage.Postprocess => "postprocess",
        HandlerStage.Explain => "explain",
        _ => stage.ToString(),
    };
}
