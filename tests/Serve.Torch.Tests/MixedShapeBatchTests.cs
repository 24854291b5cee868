using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Serve.Runtime;
using Serve.Tests;

namespace Serve.Torch.Tests;

/// <summary>
/// A model with free dimensions (here a traced classifier, which pools whatever size it is given)
/// takes requests at their own sizes in one batch: each shape runs as its own batch and every
/// request gets its own row back, as if it had run alone.
/// </summary>
public class MixedShapeBatchTests
{
    private static TorchModel Load(string config = "")
    {
        var directory = Fixtures.NewDirectory();
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "vision", "classifier.pt"), Path.Combine(directory, "classifier.pt"));
        var context = new HandlerContext(new ModelManifest { ModelName = "mixed", SerializedFile = "classifier.pt" }, directory)
        {
            ModelConfig = ModelConfig.Parse(new StringReader(config), "model-config.yaml"),
            ModelLoaders = [new TorchModelLoader(new TorchOptions())],
        };
        return (TorchModel)context.LoadModel();
    }

    private static Tensor<float> Image(int size, int seed)
    {
        var random = new Random(seed);
        var values = new float[3 * size * size];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }
        return new Tensor<float>(values, 3, size, size);
    }

    [Fact]
    public async Task Requests_of_different_sizes_in_one_batch_each_get_the_row_they_get_alone()
    {
        using var model = Load("batchSize: 4\npreferredBatchSizes: [2, 4]");
        Tensor<float>[] images = [Image(224, 1), Image(160, 2), Image(224, 3), Image(192, 4)];

        var copies = await CopyCounter.Count("mixed", async () =>
        {
            using var batch = await model.RunAsync(images, default);
            Assert.Equal([4L, 100L], batch.Shape);
            for (var i = 0; i < images.Length; i++)
            {
                using var alone = await model.RunAsync([images[i]], default);
                Assert.InRange(Fixtures.MaxAbsDifference(batch.Row(i), alone.Span.ToArray()), 0f, 1e-4f);
            }
        });

        // One stack per request in the batch and alone; one row per request put back in order.
        Assert.Equal(8, copies.Count(reason => reason == "stack"));
        Assert.Equal(4, copies.Count(reason => reason == "unstack"));
    }

    [Fact]
    public async Task Requests_of_one_size_run_as_one_batch_with_nothing_put_back()
    {
        using var model = Load("batchSize: 2");

        var copies = await CopyCounter.Count("mixed", async () => (await model.RunAsync([Image(160, 1), Image(160, 2)], default)).Dispose());

        Assert.Equal(["stack", "stack"], copies);
    }
}
