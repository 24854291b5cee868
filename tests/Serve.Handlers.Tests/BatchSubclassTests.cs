using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>Issue 21, defect 1: a subclass that swaps the built-in's per-request preprocess for a batch one.</summary>
[Handler("batch_decoding_classifier")]
public partial class BatchDecodingClassifier : ImageClassifier
{
    public int BatchesDecoded { get; private set; }

    [Preprocess]
    public IReadOnlyList<Tensor<float>> DecodeAll(IReadOnlyList<InferenceRequest> batch)
    {
        BatchesDecoded++;
        return [.. batch.Select(ImageTransforms.ImageNetInput)];
    }
}

public class BatchSubclassTests
{
    /// <summary>
    /// The server asks a handler whether it preprocesses each request; the subclass must say no,
    /// or the built-in's per-request Preprocess would run instead of its own batch stage.
    /// </summary>
    [Fact]
    public async Task A_subclass_with_a_batch_preprocess_runs_its_own_not_the_built_ins()
    {
        var directory = Fixtures.ClassifierDirectory("classifier.onnx");
        try
        {
            var context = new HandlerContext(ModelManifest.Read(directory), directory) { ModelLoaders = [new Onnx.OnnxModelLoader()] };
            var classifier = new BatchDecodingClassifier();
            IHandler handler = classifier;
            Assert.False(handler.PreprocessesEachRequest);
            await Assert.ThrowsAsync<System.NotSupportedException>(() => handler.PreprocessAsync(new InferenceRequest(new byte[1]), context, CancellationToken.None).AsTask());

            await handler.InitializeAsync(context, CancellationToken.None);
            var names = Fixtures.ImageNames.ToArray();
            var results = await handler.HandleAsync([.. names.Select(n => new InferenceRequest(Fixtures.Image(n)))], context, CancellationToken.None);
            Assert.Equal(1, classifier.BatchesDecoded);
            Assert.All(results, r => Assert.True(r.IsSuccess, r.ToString()));
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
