using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Defaults;

/// <summary>A handler with no [Inference] stage: the model runs its preprocess's tensors.</summary>
[Handler("release-model-runs")]
public partial class ModelRunsTensorsHandler
{
    public TensorLog Log { get; } = new();

    [Preprocess]
    public Tensor<float> Preprocess(InferenceRequest request) => Log.Tensor(request.Body.Length);

    [Postprocess]
    public float[] Postprocess(Tensor<float> output)
    {
        Log.Note("postprocess");
        return output.Span.ToArray();
    }
}

/// <summary>The same with an [Inference] stage of its own, which may keep what it is given.</summary>
[Handler("release-own-inference")]
public partial class OwnInferenceHandler
{
    public TensorLog Log { get; } = new();

    [Preprocess]
    public Tensor<float> Preprocess(InferenceRequest request) => Log.Tensor(request.Body.Length);

    [Inference]
    public float[] Run(IReadOnlyList<Tensor<float>> inputs) => [.. inputs.Select(input => input.Span[0])];
}

/// <summary>Makes tensors whose owners say when they are disposed, and what had happened by then.</summary>
public sealed class TensorLog
{
    private readonly List<string> _events = [];

    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public Tensor<float> Tensor(int value) => new(new float[] { value }, [1L], new Owner(this, value));

    public void Note(string @event)
    {
        lock (_events)
        {
            _events.Add(@event);
        }
    }

    private sealed class Owner(TensorLog log, int value) : IDisposable
    {
        public void Dispose() => log.Note($"disposed {value}");
    }
}

/// <summary>A model that adds one to each input, noting that it ran.</summary>
public sealed class AddOneModel(TensorLog log) : IModel<IReadOnlyList<Tensor<float>>, Tensor<float>>
{
    public string Backend => "fake";

    public ValueTask<Tensor<float>> RunAsync(IReadOnlyList<Tensor<float>> input, CancellationToken cancellationToken)
    {
        log.Note("model");
        return ValueTask.FromResult(new Tensor<float>(input.Select(tensor => tensor.Span[0] + 1).ToArray(), input.Count));
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// What the model ran is disposed once the results are written (so that rented memory goes back
/// to its pool), and not before; a handler with its own [Inference] keeps what it was given.
/// </summary>
public sealed class InputReleaseTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-release-").FullName;

    [Fact]
    public async Task The_tensors_the_model_ran_are_disposed_after_the_postprocess_and_answered_first()
    {
        var handler = new ModelRunsTensorsHandler();
        var context = Context(new AddOneModel(handler.Log));
        await ((IHandler)handler).InitializeAsync(context, CancellationToken.None);

        var results = await ((IHandler)handler).HandleAsync([Request("ab"), Request("abc")], context, CancellationToken.None);

        Assert.Equal(["3", "4"], results.Select(r => Encoding.UTF8.GetString(r.Body.Span)));
        Assert.Equal(["model", "postprocess", "disposed 2", "disposed 3"], handler.Log.Events);
    }

    [Fact]
    public async Task Tensors_the_server_preprocessed_as_they_arrived_are_disposed_too()
    {
        var handler = new ModelRunsTensorsHandler();
        var context = Context(new AddOneModel(handler.Log));
        await ((IHandler)handler).InitializeAsync(context, CancellationToken.None);
        var preprocessing = (IRequestPreprocessingHandler)handler;
        var preprocessed = await preprocessing.PreprocessAsync(Request("abcd"), context, CancellationToken.None);

        await ((IHandler)handler).HandleAsync([preprocessed], context, CancellationToken.None);

        Assert.Equal(["model", "postprocess", "disposed 4"], handler.Log.Events);
    }

    [Fact]
    public async Task A_handler_with_its_own_inference_stage_keeps_its_tensors()
    {
        var handler = new OwnInferenceHandler();
        var context = Context(new AddOneModel(handler.Log));
        await ((IHandler)handler).InitializeAsync(context, CancellationToken.None);

        var results = await ((IHandler)handler).HandleAsync([Request("ab")], context, CancellationToken.None);

        Assert.Equal(["2"], results.Select(r => Encoding.UTF8.GetString(r.Body.Span)));
        Assert.Empty(handler.Log.Events);
    }

    private HandlerContext Context(IModel model)
    {
        File.WriteAllText(Path.Combine(_directory, "model.fake"), "weights");
        return new HandlerContext(new ModelManifest { ModelName = "release", SerializedFile = "model.fake" }, _directory)
        {
            ModelLoaders = [new FakeLoader(model)],
        };
    }

    private static InferenceRequest Request(string body) => new(Encoding.UTF8.GetBytes(body));

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
