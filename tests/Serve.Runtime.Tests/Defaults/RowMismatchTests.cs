using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Defaults;

/// <summary>Each request's tensor is a row as long as its body, of zeros; the model runs the batch.</summary>
[Handler("rows-as-long-as-bodies")]
public partial class RowsHandler
{
    [Preprocess]
    public static Tensor<float> Preprocess(InferenceRequest request) => new(new float[request.Body.Length], request.Body.Length);

    [Postprocess]
    public static float[] Postprocess(Tensor<float> output) => output.Span.ToArray();
}

/// <summary>A model that declares rows of two and answers each row with its batch's row count.</summary>
public sealed class RowsOfTwoModel : IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>, IModelSignature
{
    public int Runs { get; private set; }

    public IReadOnlyList<TensorDescription> Inputs { get; } = [new("pairs", TensorElementType.Float, [-1, 2])];

    public string Backend => "fake";

    public ValueTask<Tensor<float>> RunAsync(IReadOnlyList<Tensor<float>> input, CancellationToken cancellationToken)
    {
        Runs++;
        Assert.All(input, row => Assert.Equal([2L], row.Shape));
        return ValueTask.FromResult(new Tensor<float>(Enumerable.Repeat((float)input.Count, input.Count).ToArray(), input.Count));
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// A request whose tensor the model declares it cannot take fails alone with a 400's error, and
/// the rest of its batch is answered; the model never sees it.
/// </summary>
public sealed class RowMismatchTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-rows-").FullName;

    [Fact]
    public async Task A_misfit_fails_alone_and_the_rest_of_the_batch_runs_without_it()
    {
        var (handler, context, model) = await StartAsync();

        var results = await handler.HandleAsync([Request("ab"), Request("abc"), Request("cd"), Request("")], context, CancellationToken.None);

        Assert.Equal(1, model.Runs);
        Assert.Equal([null, InferenceErrorKind.InvalidRequest, null, InferenceErrorKind.InvalidRequest], results.Select(r => r.ErrorKind));
        Assert.Equal(["2", "2"], results.Where(r => r.IsSuccess).Select(r => Encoding.UTF8.GetString(r.Body.Span)));
        Assert.Equal(
            "Model 'rows' input 'pairs' takes shape [-1, 2] (-1: any size), one row per request; this request's tensor has shape [3].",
            results[1].ErrorMessage);
        Assert.EndsWith("this request's tensor has shape [0].", results[3].ErrorMessage);
    }

    [Fact]
    public async Task A_batch_of_misfits_is_all_refused_and_the_model_does_not_run()
    {
        var (handler, context, model) = await StartAsync();

        var results = await handler.HandleAsync([Request("a"), Request("abc")], context, CancellationToken.None);

        Assert.Equal(0, model.Runs);
        Assert.All(results, r => Assert.Equal(InferenceErrorKind.InvalidRequest, r.ErrorKind));
    }

    [Fact]
    public void A_description_without_a_shape_takes_any_row_and_one_with_a_shape_checks_rank_and_fixed_sizes()
    {
        var row = new Tensor<float>(new float[6], 3, 2);

        Assert.Null(new TensorDescription("any", null, null).RowMismatch(row));
        Assert.Null(new TensorDescription("dynamic", TensorElementType.Float, [-1, -1, 2]).RowMismatch(row));
        Assert.Null(new TensorDescription("fixed", TensorElementType.Float, [-1, 3, 2]).RowMismatch(row));
        Assert.Contains("has shape [3, 2]", new TensorDescription("rank", TensorElementType.Float, [-1, 3, 2, 1]).RowMismatch(row));
        Assert.Contains("takes shape [-1, 2, 3]", new TensorDescription("size", TensorElementType.Float, [-1, 2, 3]).RowMismatch(row));
    }

    private async Task<(IHandler Handler, HandlerContext Context, RowsOfTwoModel Model)> StartAsync()
    {
        var model = new RowsOfTwoModel();
        File.WriteAllText(Path.Combine(_directory, "model.fake"), "weights");
        var context = new HandlerContext(new ModelManifest { ModelName = "rows", SerializedFile = "model.fake" }, _directory)
        {
            ModelLoaders = [new FakeLoader(model)],
        };
        IHandler handler = new RowsHandler();
        await handler.InitializeAsync(context, CancellationToken.None);
        return (handler, context, model);
    }

    private static InferenceRequest Request(string body) => new(Encoding.UTF8.GetBytes(body));

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
