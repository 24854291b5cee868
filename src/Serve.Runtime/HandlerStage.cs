namespace Serve.Runtime;

/// <summary>The stages of a handler, TorchServe's names.</summary>
public enum HandlerStage
{
    Initialize,
    Preprocess,
    Inference,
    Postprocess,
    Explain,
}

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
