using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Defaults;

/// <summary>A handler with neither [Initialize] nor [Inference]: the model file loads and runs by default.</summary>
[Handler("defaults-lengths")]
public partial class LengthsHandler
{
    [Preprocess]
    public static int Length(InferenceRequest request) => request.Body.Length;

    [Postprocess]
    public static int[] Doubled(int[] outputs) => [.. outputs.Select(o => o * 2)];
}

/// <summary>A model that returns its inputs, so the test sees that it ran.</summary>
public sealed class EchoModel : IModel<IReadOnlyList<int>, int[]>
{
    public string Backend => "fake";

    public bool Disposed { get; private set; }

    public ValueTask<int[]> RunAsync(IReadOnlyList<int> input, CancellationToken cancellationToken) => ValueTask.FromResult(input.ToArray());

    public void Dispose() => Disposed = true;
}

public sealed class FakeLoader(IModel model) : IModelLoader
{
    public string Backend => model.Backend;

    public bool CanLoad(string serializedFilePath) => serializedFilePath.EndsWith(".fake", StringComparison.Ordinal);

    public IModel Load(HandlerContext context) => model;
}

public sealed class DefaultStageTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-defaults-").FullName;

    [Fact]
    public async Task The_default_initialize_loads_the_serialized_file_and_the_default_inference_runs_it()
    {
        var model = new EchoModel();
        var context = Context("model.fake", new FakeLoader(model));
        IHandler handler = new LengthsHandler();
        var initializeTimes = new List<double>();
        using var listener = Listen(context.ModelName, "ts_handler_initialize", initializeTimes);

        await handler.InitializeAsync(context, CancellationToken.None);
        var results = await handler.HandleAsync([Request("abc"), Request("hello")], context, CancellationToken.None);

        Assert.Same(model, context.Model);
        Assert.Single(initializeTimes);
        Assert.Equal(["6", "10"], results.Select(r => Encoding.UTF8.GetString(r.Body.Span)));
    }

    [Fact]
    public async Task No_backend_for_the_file_is_a_clear_error()
    {
        var context = Context("model.onnx", new FakeLoader(new EchoModel()));
        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await ((IHandler)new LengthsHandler()).InitializeAsync(context, CancellationToken.None));
        Assert.Contains("no backend can load 'model.onnx' (registered: fake)", error.Message);
        Assert.Contains("services.AddOnnxRuntime() for .onnx, services.AddTorchSharp() for TorchScript", error.Message);
    }

    [Fact]
    public async Task A_model_that_does_not_run_the_stage_types_is_named_in_the_error()
    {
        var context = Context("model.fake", new FakeLoader(new WrongModel()));
        IHandler handler = new LengthsHandler();
        await handler.InitializeAsync(context, CancellationToken.None);

        var error = await Assert.ThrowsAsync<HandlerStageException>(async () => await handler.HandleAsync([Request("a")], context, CancellationToken.None));
        Assert.Equal(HandlerStage.Inference, error.Stage);
        Assert.Contains("The fake model of 'defaults-model.fake' does not run", error.Message);
        Assert.Contains("declare an [Inference] stage", error.Message);
    }

    private HandlerContext Context(string file, IModelLoader loader)
    {
        File.WriteAllText(Path.Combine(_directory, file), "weights");
        return new HandlerContext(new ModelManifest { ModelName = "defaults-" + file, SerializedFile = file }, _directory)
        {
            ModelLoaders = [loader],
        };
    }

    private static InferenceRequest Request(string body) => new(Encoding.UTF8.GetBytes(body));

    private static MeterListener Listen(string modelName, string instrumentName, List<double> values)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == HandlerMetrics.MeterName && instrument.Name == instrumentName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "ModelName" && (string?)tag.Value == modelName)
                {
                    values.Add(value);
                }
            }
        });
        listener.Start();
        return listener;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed class WrongModel : IModel<string, string>
    {
        public string Backend => "fake";

        public ValueTask<string> RunAsync(string input, CancellationToken cancellationToken) => ValueTask.FromResult(input);

        public void Dispose()
        {
        }
    }
}
