using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>The README's subclass: the built-in's decode and preprocessing, its own answer.</summary>
[Handler("top_class")]
public partial class TopClassifier : ImageClassifier
{
    public override IReadOnlyList<InferenceResult> Postprocess(Tensor<float> logits, HandlerContext context) =>
        [.. Enumerable.Range(0, (int)logits.Shape[0]).Select(i => InferenceResult.Text(context.Labels![Classification.TopK(logits.Row(i), 1)[0]]))];
}

public class SubclassTests
{
    [Theory]
    [InlineData("classifier.onnx")]
    [InlineData("classifier.pt")]
    public async Task A_subclass_overriding_postprocess_keeps_the_built_ins_preprocess(string modelFile)
    {
        var directory = Fixtures.ClassifierDirectory(modelFile);
        try
        {
            var context = new HandlerContext(ModelManifest.Read(directory), directory)
            {
                ModelLoaders = [new Onnx.OnnxModelLoader(), new Torch.TorchModelLoader()],
            };
            IHandler handler = new TopClassifier();
            await handler.InitializeAsync(context, CancellationToken.None);
            var names = Fixtures.ImageNames.ToArray();
            var results = await handler.HandleAsync([.. names.Select(n => new InferenceRequest(Fixtures.Image(n)))], context, CancellationToken.None);
            for (var i = 0; i < names.Length; i++)
            {
                Assert.Equal(InferenceResult.TextContentType, results[i].ContentType);
                Assert.Equal(Fixtures.Expected(names[i])[0].Label, System.Text.Encoding.UTF8.GetString(results[i].Body.Span));
            }
            context.Model?.Dispose();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
