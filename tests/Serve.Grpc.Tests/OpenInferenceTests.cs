using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Openinference;
using static Org.Pytorch.Serve.Grpc.Openinference.ModelInferRequest.Types;

namespace Serve.Grpc.Tests;

/// <summary>KServe's GRPCInferenceService (the Open Inference Protocol over gRPC) on the inference listener, with the inference key.</summary>
[Collection(GrpcServerCollection.Name)]
public sealed class OpenInferenceTests(GrpcServer server)
{
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _client = new(server.Inference);

    private CallOptions Key => GrpcServer.With(server.InferenceKey);

    private static byte[] Png(int digit) => File.ReadAllBytes(GrpcServer.Fixture("images", $"{digit}.png"));

    private static int Digit(ModelInferResponse response)
    {
        var output = Assert.Single(response.Outputs);
        Assert.Equal("output-0", output.Name);
        Assert.Equal("BYTES", output.Datatype);
        Assert.Equal("application/json", output.Parameters["content_type"].StringParam);
        return JsonDocument.Parse(output.Contents.BytesContents.Single().Memory).RootElement.GetProperty("digit").GetInt32();
    }

    [Fact]
    public async Task The_server_is_live_and_ready_and_says_who_it_is()
    {
        Assert.True((await _client.ServerLiveAsync(new ServerLiveRequest(), Key)).Live);
        Assert.True((await _client.ServerReadyAsync(new ServerReadyRequest(), Key)).Ready);
        var metadata = await _client.ServerMetadataAsync(new ServerMetadataRequest(), Key);
        Assert.Equal("serve", metadata.Name);
        Assert.Matches(@"^\d+\.\d+\.\d+$", metadata.Version);
    }

    [Fact]
    public async Task ModelReady_and_ModelMetadata_describe_a_served_model_and_are_NOT_FOUND_for_another()
    {
        var ready = await _client.ModelReadyAsync(new ModelReadyRequest { Name = "classifier" }, Key);
        var metadata = await _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "digits", Version = "1.0" }, Key);
        var notReady = await Assert.ThrowsAsync<RpcException>(() => _client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }, Key).ResponseAsync);
        var noVersion = await Assert.ThrowsAsync<RpcException>(() => _client.ModelMetadataAsync(new ModelMetadataRequest { Name = "digits", Version = "7" }, Key).ResponseAsync);

        Assert.True(ready.Ready);
        Assert.Equal("digits", metadata.Name);
        Assert.Equal(["1.0"], metadata.Versions);
        Assert.Equal("BYTES", Assert.Single(metadata.Inputs).Datatype);
        Assert.Equal("output-0", Assert.Single(metadata.Outputs).Name);
        Assert.Equal(StatusCode.NotFound, notReady.StatusCode);
        Assert.Equal("Model not found: nope", notReady.Status.Detail);
        Assert.Equal(StatusCode.NotFound, noVersion.StatusCode);
    }

    [Fact]
    public async Task ModelInfer_runs_a_BYTES_input_from_contents_or_raw_contents_and_echoes_the_id()
    {
        var fromContents = new ModelInferRequest
        {
            ModelName = "digits",
            Id = "req-1",
            Inputs = { new InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { 1 }, Contents = new() { BytesContents = { ByteString.CopyFrom(Png(8)) } } } },
        };
        var png = Png(9);
        var prefixed = new byte[4 + png.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(prefixed, (uint)png.Length);
        png.CopyTo(prefixed, 4);
        var fromRaw = new ModelInferRequest
        {
            ModelName = "digits",
            ModelVersion = "1.0",
            Inputs = { new InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { 1 } } },
            RawInputContents = { ByteString.CopyFrom(prefixed) },
        };

        var first = await _client.ModelInferAsync(fromContents, Key);
        var second = await _client.ModelInferAsync(fromRaw, Key);

        Assert.Equal(8, Digit(first));
        Assert.Equal("req-1", first.Id);
        Assert.Equal("digits", first.ModelName);
        Assert.Equal("1.0", first.ModelVersion);
        Assert.Equal(9, Digit(second));
    }

    [Fact]
    public async Task ModelInfer_runs_an_FP32_tensor_as_typed_contents_or_raw_bytes_as_the_image_would()
    {
        var intensities = Samples.Digits.DigitImage.ToTensor(Png(2)).ToArray();
        var typed = new ModelInferRequest
        {
            ModelName = "digits",
            Inputs = { new InferInputTensor { Name = "pixels", Datatype = "FP32", Shape = { 1, 8, 8 }, Contents = new() { Fp32Contents = { intensities } } } },
        };
        var raw = new byte[intensities.Length * 4];
        for (var i = 0; i < intensities.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), intensities[i]);
        }
        var rawRequest = new ModelInferRequest
        {
            ModelName = "digits",
            Inputs = { new InferInputTensor { Name = "pixels", Datatype = "FP32", Shape = { 1, 8, 8 } } },
            RawInputContents = { ByteString.CopyFrom(raw) },
        };

        Assert.Equal(2, Digit(await _client.ModelInferAsync(typed, Key)));
        Assert.Equal(2, Digit(await _client.ModelInferAsync(rawRequest, Key)));
    }

    [Fact]
    public async Task ModelInfer_runs_the_image_classifier()
    {
        var request = new ModelInferRequest
        {
            ModelName = "classifier",
            Inputs = { new InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { 1 }, Contents = new() { BytesContents = { ByteString.CopyFrom(File.ReadAllBytes(GrpcServer.Fixture("vision", "china.jpg"))) } } } },
        };

        var response = await _client.ModelInferAsync(request, Key);

        var top = JsonDocument.Parse(response.Outputs[0].Contents.BytesContents[0].Memory).RootElement.EnumerateObject().First();
        Assert.Equal("class 13", top.Name);
        Assert.Equal(0.977295458316803, top.Value.GetDouble(), 1e-5);
    }

    [Fact]
    public async Task The_service_answers_under_KServes_package_name_too_as_clients_generated_from_grpc_predict_v2_call_it()
    {
        // KServe's grpc_predict_v2.proto declares the same messages in package "inference".
        static Method<TRequest, TResponse> KServe<TRequest, TResponse>(string name, MessageParser<TRequest> requests, MessageParser<TResponse> responses)
            where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse> =>
            new(MethodType.Unary, "inference.GRPCInferenceService", name,
                Marshallers.Create(m => m.ToByteArray(), requests.ParseFrom), Marshallers.Create(m => m.ToByteArray(), responses.ParseFrom));
        var invoker = server.Inference.CreateCallInvoker();
        var request = new ModelInferRequest
        {
            ModelName = "digits",
            Inputs = { new InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { 1 }, Contents = new() { BytesContents = { ByteString.CopyFrom(Png(6)) } } } },
        };

        var live = await invoker.AsyncUnaryCall(KServe("ServerLive", ServerLiveRequest.Parser, ServerLiveResponse.Parser), null, Key, new ServerLiveRequest());
        var inferred = await invoker.AsyncUnaryCall(KServe("ModelInfer", ModelInferRequest.Parser, ModelInferResponse.Parser), null, Key, request);
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() =>
            invoker.AsyncUnaryCall(KServe("ModelReady", ModelReadyRequest.Parser, ModelReadyResponse.Parser), null, GrpcServer.With(null), new ModelReadyRequest { Name = "digits" }).ResponseAsync);

        Assert.True(live.Live);
        Assert.Equal(6, Digit(inferred));
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);
    }

    public static TheoryData<string, ModelInferRequest, StatusCode, string> Refused => new()
    {
        { "unknown model", new ModelInferRequest { ModelName = "nope" }, StatusCode.NotFound, "Model not found: nope" },
        { "two inputs", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor(), new InferInputTensor() } }, StatusCode.InvalidArgument, "This model takes one input" },
        { "two BYTES elements", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "BYTES", Contents = new() { BytesContents = { ByteString.CopyFromUtf8("a"), ByteString.CopyFromUtf8("b") } } } } }, StatusCode.InvalidArgument, "Input 'x' must hold exactly one BYTES element" },
        { "raw BYTES without its length", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "BYTES" } }, RawInputContents = { ByteString.CopyFromUtf8("abcdef") } }, StatusCode.InvalidArgument, "Input 'x' must hold exactly one BYTES element; its raw contents" },
        { "unknown datatype", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "FP8" } } }, StatusCode.InvalidArgument, "Input 'x' has datatype FP8" },
        { "shape and contents disagree", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 64 }, Contents = new() { Fp32Contents = { 0.5f } } } } }, StatusCode.InvalidArgument, "Input 'x' has shape [1, 64], 64 elements, but its contents hold 1 FP32 values." },
        { "INT8 out of range", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "INT8", Shape = { 1 }, Contents = new() { IntContents = { 300 } } } } }, StatusCode.InvalidArgument, "Input 'x' holds 300, which is not a INT8 value." },
        { "huge shape", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 99999999999, 99999999999 } } } }, StatusCode.InvalidArgument, "Input 'x' has shape [99999999999, 99999999999]" },
        { "the handler's refusal", new ModelInferRequest { ModelName = "digits", Inputs = { new InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 4 }, Contents = new() { Fp32Contents = { 0.5f, 1, 0, 0 } } } } }, StatusCode.InvalidArgument, "A digit is 8x8 = 64 intensities; the tensor holds 4" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_request_the_server_refuses_gets_the_status_of_its_REST_answer_and_the_same_message(string why, ModelInferRequest request, StatusCode code, string message)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.ModelInferAsync(request, Key).ResponseAsync);

        Assert.True(code == refused.StatusCode, $"{why}: {refused.StatusCode} {refused.Status.Detail}");
        Assert.Contains(message, refused.Status.Detail);
    }
}
