using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Inference;

namespace Serve.Grpc.Tests;

/// <summary>TorchServe's gRPC inference API (inference.proto) with the inference key.</summary>
[Collection(GrpcServerCollection.Name)]
public sealed class TorchServeInferenceTests(GrpcServer server)
{
    private readonly InferenceAPIsService.InferenceAPIsServiceClient _client = new(server.Inference);

    private CallOptions Key => GrpcServer.With(server.InferenceKey);

    private static PredictionsRequest Digit(int digit, string model = "digits", string version = "") => new()
    {
        ModelName = model,
        ModelVersion = version,
        Input = { ["data"] = ByteString.CopyFrom(File.ReadAllBytes(GrpcServer.Fixture("images", $"{digit}.png"))) },
    };

    [Fact]
    public async Task Ping_answers_TorchServes_health_json_once_the_models_are_loaded()
    {
        var health = await _client.PingAsync(new Empty(), Key);

        Assert.Equal("Healthy", JsonDocument.Parse(health.Health).RootElement.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    public async Task Predictions_runs_the_digits_model_on_a_png(int digit)
    {
        var response = await _client.PredictionsAsync(Digit(digit), Key);

        Assert.Equal(digit, JsonDocument.Parse(response.Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task Predictions_runs_an_image_classifier_archive_as_its_REST_reference_does()
    {
        var request = new PredictionsRequest
        {
            ModelName = "classifier",
            ModelVersion = "1.0",
            Input = { ["data"] = ByteString.CopyFrom(File.ReadAllBytes(GrpcServer.Fixture("vision", "china.jpg"))) },
        };

        var response = await _client.PredictionsAsync(request, Key);

        // The top five of the seeded classifier on this photo, as torchvision computes them (fixtures/make_vision.py).
        var expected = JsonDocument.Parse(File.ReadAllText(GrpcServer.Fixture("vision", "expected.json"))).RootElement.GetProperty("china.jpg");
        var actual = JsonDocument.Parse(response.Prediction.Memory).RootElement;
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name), actual.EnumerateObject().Select(p => p.Name));
        foreach (var (want, got) in expected.EnumerateObject().Zip(actual.EnumerateObject()))
        {
            Assert.Equal(want.Value.GetDouble(), got.Value.GetDouble(), 1e-5);
        }
    }

    [Fact]
    public async Task Predictions_takes_the_only_input_entry_whatever_its_name_and_passes_the_others_as_parameters()
    {
        var png = ByteString.CopyFrom(File.ReadAllBytes(GrpcServer.Fixture("images", "4.png")));

        var only = await _client.PredictionsAsync(new PredictionsRequest { ModelName = "digits", Input = { ["image"] = png } }, Key);
        var named = await _client.PredictionsAsync(new PredictionsRequest { ModelName = "digits", Input = { ["body"] = png, ["note"] = ByteString.CopyFromUtf8("x") } }, Key);

        Assert.Equal(4, JsonDocument.Parse(only.Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
        Assert.Equal(only.Prediction, named.Prediction);
    }

    [Fact]
    public async Task StreamPredictions_streams_the_handlers_answer_and_ends()
    {
        using var call = _client.StreamPredictions(Digit(5), Key);

        var answers = new List<PredictionResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            answers.Add(answer);
        }

        // A handler answers each request once (no intermediate answers): one message, then the end.
        var only = Assert.Single(answers);
        Assert.Equal(5, JsonDocument.Parse(only.Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task StreamPredictions2_answers_each_request_in_order_with_its_sequence_id_and_its_own_error()
    {
        using var call = _client.StreamPredictions2(Key);
        var good = Digit(2);
        good.SequenceId = "seq-1";
        var unknown = Digit(2, model: "nope");
        unknown.SequenceId = "seq-1";
        var unsequenced = Digit(6);
        var later = Digit(6);
        later.SequenceId = "seq-1";

        foreach (var request in new[] { good, unknown, unsequenced, later })
        {
            await call.RequestStream.WriteAsync(request);
        }
        await call.RequestStream.CompleteAsync();
        var answers = new List<PredictionResponse>();
        await foreach (var answer in call.ResponseStream.ReadAllAsync())
        {
            answers.Add(answer);
        }

        Assert.Equal(4, answers.Count);
        Assert.Equal(2, JsonDocument.Parse(answers[0].Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
        Assert.Equal("seq-1", answers[0].SequenceId);
        Assert.Null(answers[0].Status);
        Assert.Equal((int)StatusCode.NotFound, answers[1].Status.Code);
        Assert.Equal("Model not found: nope", answers[1].Status.Message);
        Assert.Equal((int)StatusCode.InvalidArgument, answers[2].Status.Code);
        Assert.Equal("Parameter sequenceId is required.", answers[2].Status.Message);
        Assert.Equal(6, JsonDocument.Parse(answers[3].Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task Predictions_of_a_version_that_is_served_runs_it_and_of_one_that_is_not_is_NOT_FOUND()
    {
        var served = await _client.PredictionsAsync(Digit(1, version: "1.0"), Key);
        var missing = await Assert.ThrowsAsync<RpcException>(() => _client.PredictionsAsync(Digit(1, version: "9.9"), Key).ResponseAsync);

        Assert.Equal(1, JsonDocument.Parse(served.Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal("Model version: 9.9 does not exist for model: digits (it serves 1.0)", missing.Status.Detail);
    }

    public static TheoryData<string, PredictionsRequest, StatusCode, string> Refused => new()
    {
        { "unknown model", new PredictionsRequest { ModelName = "nope", Input = { ["data"] = ByteString.CopyFromUtf8("x") } }, StatusCode.NotFound, "Model not found: nope" },
        { "no model name", new PredictionsRequest { Input = { ["data"] = ByteString.CopyFromUtf8("x") } }, StatusCode.InvalidArgument, "Parameter model_name is required." },
        { "no input", new PredictionsRequest { ModelName = "digits" }, StatusCode.InvalidArgument, "The request's input map is empty; put the model's input under \"data\"." },
        { "empty input", new PredictionsRequest { ModelName = "digits", Input = { ["data"] = ByteString.Empty } }, StatusCode.InvalidArgument, "The input \"data\" is empty" },
        { "ambiguous input", new PredictionsRequest { ModelName = "digits", Input = { ["b"] = ByteString.CopyFromUtf8("x"), ["a"] = ByteString.CopyFromUtf8("y") } }, StatusCode.InvalidArgument, "The request's input map has \"a\", \"b\"; put the model's input under \"data\"." },
        { "not an image", new PredictionsRequest { ModelName = "digits", Input = { ["data"] = ByteString.CopyFromUtf8("hello") } }, StatusCode.InvalidArgument, "The body is not an image" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_request_the_server_refuses_gets_the_status_of_its_REST_answer_and_the_same_message(string why, PredictionsRequest request, StatusCode code, string message)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.PredictionsAsync(request, Key).ResponseAsync);

        Assert.True(code == refused.StatusCode, $"{why}: {refused.StatusCode} {refused.Status.Detail}");
        Assert.StartsWith(message, refused.Status.Detail);
        // The server goes on serving.
        Assert.Equal(3, JsonDocument.Parse((await _client.PredictionsAsync(Digit(3), Key)).Prediction.Memory).RootElement.GetProperty("digit").GetInt32());
    }

    [Fact]
    public async Task A_request_over_max_request_size_is_RESOURCE_EXHAUSTED_as_in_TorchServe()
    {
        var request = new PredictionsRequest { ModelName = "digits", Input = { ["data"] = ByteString.CopyFrom(new byte[6_553_500 + 1]) } };

        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.PredictionsAsync(request, Key).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
    }
}
