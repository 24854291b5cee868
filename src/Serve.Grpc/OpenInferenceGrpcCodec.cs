using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;
using Org.Pytorch.Serve.Grpc.Openinference;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// The Open Inference Protocol's ModelInfer on the wire, as the REST adapter reads and answers it:
/// one input (<see cref="OpenInferenceTensors"/>), and one BYTES output, <c>output-0</c>, holding
/// the handler's body, with the body's content type in the output's <c>content_type</c> parameter.
/// </summary>
internal sealed class OpenInferenceGrpcCodec : IInferenceCodec<GrpcCall<ModelInferRequest, ModelInferResponse>, OpenInferenceGrpcCodec.None>
{
    /// <summary>Nothing to keep between decoding and answering.</summary>
    internal readonly record struct None;

    public static readonly OpenInferenceGrpcCodec Instance = new();

    public InferenceTarget Target(GrpcCall<ModelInferRequest, ModelInferResponse> call) =>
        new(call.Request.ModelName, call.Request.ModelVersion.Length == 0 ? null : call.Request.ModelVersion, Explain: false);

    public ValueTask<Decoded<None>> DecodeAsync(GrpcCall<ModelInferRequest, ModelInferResponse> call, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        var request = call.Request;
        if (request.Inputs.Count != 1)
        {
            return new(Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, $"This model takes one input, a BYTES tensor holding the request body; the request has {request.Inputs.Count}."));
        }
        if (request.RawInputContents.Count > 1)
        {
            return new(Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, $"raw_input_contents holds {request.RawInputContents.Count} tensors for the request's one input."));
        }
        try
        {
            var (body, contentType) = OpenInferenceTensors.Read(request.Inputs[0], request.RawInputContents.Count == 1 ? request.RawInputContents[0] : null);
            return new(Decoded<None>.Of(default, [new InferenceRequest(body, contentType, call.Headers())]));
        }
        catch (InvalidRequestException e)
        {
            return new(Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, e.Message));
        }
    }

    public Task WriteAsync(GrpcCall<ModelInferRequest, ModelInferResponse> call, ServedModel model, None input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken)
    {
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = "output-0", Datatype = "BYTES", Shape = { 1 } };
        output.Parameters["content_type"] = new InferParameter { StringParam = results[0].ContentType };
        output.Contents = new InferTensorContents { BytesContents = { UnsafeByteOperations.UnsafeWrap(results[0].Body) } };
        call.Response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.Version, Id = call.Request.Id, Outputs = { output } };
        return Task.CompletedTask;
    }

    public Task WriteErrorAsync(GrpcCall<ModelInferRequest, ModelInferResponse> call, InferenceResult error, CancellationToken cancellationToken)
    {
        call.Error = error;
        return Task.CompletedTask;
    }
}
