using System;
using System.IO;
using System.Linq;
using System.Text;
using Serve.Runtime;

namespace Serve.Runtime.Tests;

/// <summary>Builds contexts and batches for calling generated handlers directly.</summary>
internal static class TestSupport
{
    /// <summary>A context for a model named <paramref name="prefix"/> plus a unique suffix; no serialized file.</summary>
    public static HandlerContext Context(string prefix = "model") =>
        new(new ModelManifest { ModelName = prefix + "-" + Guid.NewGuid().ToString("N") }, Path.GetTempPath());

    public static InferenceRequest[] Batch(params string[] bodies) =>
        bodies.Select(body => new InferenceRequest(Encoding.UTF8.GetBytes(body))).ToArray();

    public static string Text(InferenceResult result) => Encoding.UTF8.GetString(result.Body.Span);
}
