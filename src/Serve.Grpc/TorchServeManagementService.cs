using System.Threading.Tasks;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Management;
using Serve.TorchServe;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's gRPC management API (management.proto) over the same operations as REST's
/// (<see cref="ModelManagement"/>): each call answers the REST answer's message in <c>msg</c> (the
/// JSON of list and describe, the status texts), or fails with its message and the status for its
/// HTTP code (<see cref="GrpcErrors"/>). As in TorchServe's ManagementImpl, a number left 0
/// (proto3's "not set") takes its default, and an empty version means the default version.
/// </summary>
internal sealed class TorchServeManagementService(ModelManagement management) : ManagementAPIsService.ManagementAPIsServiceBase
{
    /// <summary>
    /// describe's JSON array: the default version, the one named, or every version (<c>all</c>).
    /// <c>customized</c> asks TorchServe's handler for its own metadata; handlers here have none,
    /// so the answer is the same.
    /// </summary>
    public override Task<ManagementResponse> DescribeModel(DescribeModelRequest request, ServerCallContext context) =>
        Task.FromResult(Answer(management.Describe(Required(request.ModelName, "model_name"), Version(request.ModelVersion))));

    /// <summary>The default version of each name and the models that failed at start, a page at a time; a limit of 0 takes 100.</summary>
    public override Task<ManagementResponse> ListModels(ListModelsRequest request, ServerCallContext context) =>
        Task.FromResult(Answer(management.List(request.Limit == 0 ? null : request.Limit, request.NextPageToken)));

    /// <summary>Registers the archive at <c>url</c>; asynchronous unless <c>synchronous</c> (proto3's default is false, as in TorchServe's gRPC).</summary>
    public override async Task<ManagementResponse> RegisterModel(RegisterModelRequest request, ServerCallContext context)
    {
        var settings = new ModelRequest(
            ModelName: Text(request.ModelName),
            Handler: Text(request.Handler),
            BatchSize: Positive(request.BatchSize),
            MaxBatchDelay: Positive(request.MaxBatchDelay),
            ResponseTimeout: Positive(request.ResponseTimeout),
            InitialWorkers: Positive(request.InitialWorkers));
        return Answer(await management.RegisterAsync(Text(request.Url), settings, request.Synchronous, Text(request.Runtime), context.CancellationToken).ConfigureAwait(false));
    }

    /// <summary>min_worker (0 takes 1), max_worker (0 takes min_worker); asynchronous unless <c>synchronous</c>.</summary>
    public override async Task<ManagementResponse> ScaleWorker(ScaleWorkerRequest request, ServerCallContext context) =>
        Answer(await management.ScaleAsync(Required(request.ModelName, "model_name"), Version(request.ModelVersion),
            Positive(request.MinWorker), Positive(request.MaxWorker), request.Synchronous, context.CancellationToken).ConfigureAwait(false));

    public override Task<ManagementResponse> SetDefault(SetDefaultRequest request, ServerCallContext context) =>
        Task.FromResult(Answer(management.SetDefault(Required(request.ModelName, "model_name"), Required(request.ModelVersion, "model_version"))));

    /// <summary>One version (the default without one); the default cannot go while others remain (PERMISSION_DENIED, REST's 403).</summary>
    public override async Task<ManagementResponse> UnregisterModel(UnregisterModelRequest request, ServerCallContext context) =>
        Answer(await management.UnregisterAsync(Required(request.ModelName, "model_name"), Version(request.ModelVersion), context.CancellationToken).ConfigureAwait(false));

    private static ManagementResponse Answer(ManagementAnswer answer) =>
        answer.IsError ? throw GrpcErrors.Failure((int)answer.Status, answer.Message) : new ManagementResponse { Msg = answer.Message };

    private static string Required(string value, string parameter) =>
        value.Length > 0 ? value : throw GrpcErrors.InvalidArgument($"Parameter {parameter} is required.");

    private static string? Text(string value) => value.Length > 0 ? value : null;

    private static string? Version(string value) => Text(value);

    private static int? Positive(int value) => value > 0 ? value : null;
}
