using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Org.Pytorch.Serve.Grpc.Inference;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's gRPC predictions on the wire: the model and version from the request, the
/// <c>input</c> map's "data" (or "body") entry, or its only entry, as the request body, as
/// TorchServe's handlers read it; the other entries reach the handler as parameters (as a REST
/// request's query parameters do) and the call's metadata as its headers. The answer is the
/// handler's body, the bytes REST would send.
/// </summary>
internal sealed class TorchServeGrpcCodec : IInferenceCodec<GrpcCall<PredictionsRequest, ByteString>, TorchServeGrpcCodec.None>
{
    /// <summary>Nothing to keep between decoding and answering.</summary>
    internal readonly record struct None;

    public static readonly TorchServeGrpcCodec Instance = new();

    public InferenceTarget Target(GrpcCall<PredictionsRequest, ByteString> call) =>
        new(call.Request.ModelName, call.Request.ModelVersion.Length == 0 ? null : call.Request.ModelVersion, Explain: false);

    public ValueTask<Decoded<None>> DecodeAsync(GrpcCall<PredictionsRequest, ByteString> call, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        var input = call.Request.Input;
        var key = input.ContainsKey("data") ? "data" : input.ContainsKey("body") ? "body" : input.Count == 1 ? input.Keys.First() : null;
        if (key is null)
        {
            return new(Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, input.Count == 0
                ? "The request's input map is empty; put the model's input under \"data\"."
                : $"The request's input map has {string.Join(", ", input.Keys.Order(StringComparer.Ordinal).Select(k => $"\"{k}\""))}; put the model's input under \"data\"."));
        }
        var body = input[key].Memory;
        if (body.IsEmpty)
        {
            return new(Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, $"The input \"{key}\" is empty; send the model's input, e.g. an image's bytes."));
        }
        return new(Decoded<None>.Of(default, [new InferenceRequest(body, null, call.Headers(), Parameters(input, key))]));
    }

    public Task WriteAsync(GrpcCall<PredictionsRequest, ByteString> call, ServedModel model, None input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken)
    {
        call.Response = UnsafeByteOperations.UnsafeWrap(results[0].Body);
        return Task.CompletedTask;
    }

    public Task WriteErrorAsync(GrpcCall<PredictionsRequest, ByteString> call, InferenceResult error, CancellationToken cancellationToken)
    {
        call.Error = error;
        return Task.CompletedTask;
    }

    private static Dictionary<string, string> Parameters(MapField<string, ByteString> input, string body)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in input)
        {
            if (name != body)
            {
                parameters[name] = Encoding.UTF8.GetString(value.Span);
            }
        }
        return parameters;
    }
}
