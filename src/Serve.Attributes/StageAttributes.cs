using System;

namespace Serve
{
    /// <summary>
    /// Loads what the handler needs (TorchServe's <c>initialize</c>). Optional: without it the
    /// model file named by the manifest is loaded with the backend that can read it.
    /// Returns <c>void</c>, <c>Task</c> or <c>ValueTask</c>; may take a <c>HandlerContext</c> and a
    /// <c>CancellationToken</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class InitializeAttribute : Attribute
    {
    }

    /// <summary>
    /// Turns requests into model input (TorchServe's <c>preprocess</c>). Takes the whole batch
    /// (<c>IReadOnlyList&lt;InferenceRequest&gt;</c>) or one <c>InferenceRequest</c>; in the second
    /// form the generator calls it once per request and passes the inference stage an
    /// <c>IReadOnlyList</c> of the results. Optional: without it inference receives the batch.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class PreprocessAttribute : Attribute
    {
    }

    /// <summary>
    /// Runs the model on the preprocessed input (TorchServe's <c>inference</c>). Optional:
    /// without it the model loaded at initialize runs the input.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class InferenceAttribute : Attribute
    {
    }

    /// <summary>
    /// Turns model output into one result per request (TorchServe's <c>postprocess</c>); returns
    /// a list with exactly one element per request. Optional when inference already returns such
    /// a list.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class PostprocessAttribute : Attribute
    {
    }

    /// <summary>
    /// Explains a prediction (TorchServe's <c>explain_handle</c>): takes the preprocessed input
    /// and returns one explanation per request. Served at <c>POST /explanations/{name}</c>.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class ExplainAttribute : Attribute
    {
    }
}
