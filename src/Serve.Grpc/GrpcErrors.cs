using Grpc.Core;
using Serve.Runtime;

namespace Serve.Grpc;

/// <summary>
/// gRPC statuses for what the REST APIs answer with an HTTP status, by TorchServe's own table
/// (its GRPCUtils.getGRPCStatusCode): 400 INVALID_ARGUMENT, 404 NOT_FOUND, 409 ABORTED, 413
/// RESOURCE_EXHAUSTED, 501 UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, another 4xx
/// FAILED_PRECONDITION, another 5xx INTERNAL. The message is the one the REST API gives.
/// </summary>
internal static class GrpcErrors
{
    /// <summary>The status for an HTTP status.</summary>
    public static StatusCode Code(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        409 => StatusCode.Aborted,
        413 or 429 => StatusCode.ResourceExhausted,
        416 => StatusCode.OutOfRange,
        499 => StatusCode.Cancelled,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        >= 200 and < 300 => StatusCode.OK,
        >= 400 and < 500 => StatusCode.FailedPrecondition,
        >= 500 and < 600 => StatusCode.Internal,
        _ => StatusCode.Unknown,
    };

    /// <summary>The status for a failed inference, through the HTTP status the REST APIs give it.</summary>
    public static StatusCode Code(InferenceErrorKind kind) => Code(kind switch
    {
        InferenceErrorKind.InvalidRequest => 400,
        InferenceErrorKind.RequestTooLarge => 413,
        InferenceErrorKind.ModelNotFound or InferenceErrorKind.VersionNotFound => 404,
        InferenceErrorKind.RequestTimeout => 408,
        InferenceErrorKind.NotSupported => 501,
        InferenceErrorKind.Unavailable => 503,
        InferenceErrorKind.Timeout => 504,
        _ => 500,
    });

    public static RpcException Failure(int httpStatus, string message) => new(new Status(Code(httpStatus), message));

    public static RpcException Failure(InferenceErrorKind kind, string message) => new(new Status(Code(kind), message));

    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));
}
