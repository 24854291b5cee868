using System;
using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// KServe's v1 protocol as TorchServe's inference API serves it: <c>POST /v1/models/{model}:predict</c>
/// (and <c>:explain</c>) with <c>{"instances": [...]}</c>, answered <c>{"predictions": [...]}</c>
/// (<c>{"explanations": [...]}</c>), one entry per instance, in order. This is what KServe's v1
/// clients and TorchServe's kserve_wrapper (which forwards the body unchanged) send; TorchServe
/// unpacks it in the handler (its kserve request envelope), here each instance becomes one
/// request whose body is the instance's JSON, so every handler takes it unchanged and the
/// instances are batched like separate requests. The vision handlers read an instance's image
/// from <c>{"data": "&lt;base64&gt;"}</c>, <c>{"b64": ...}</c> or <c>{"body": ...}</c>, or a base64 string.
/// </summary>
internal static class KServeV1Http
{
    /// <summary>Instances one request may carry: each takes a place in the model's queue.</summary>
    public const int MaxInstances = 64;

    public static void Map(IEndpointRouteBuilder endpoints) =>
        // "{model}:predict" is one path segment: matched whole and split by the codec.
        endpoints.MapPost("/v1/models/{target}", new RequestDelegate(httpContext =>
        {
            var target = httpContext.Request.RouteValues["target"] as string ?? "";
            return Verb(target) is null
                ? TorchServeErrorBody.WriteAsync(httpContext, StatusCodes.Status404NotFound, "ResourceNotFoundException",
                    $"KServe v1 serves POST /v1/models/{{model}}:predict and :explain, not '{target}'.")
                : HttpInference.RunAsync(httpContext, KServeV1Codec.Instance);
        }));

    /// <summary>"predict" or "explain" after the model name's last colon; null for any other.</summary>
    internal static string? Verb(string target)
    {
        var colon = target.LastIndexOf(':');
        return colon < 0 ? null : target[(colon + 1)..] is "predict" or "explain" ? target[(colon + 1)..] : null;
    }

    /// <summary>Each element of the body's <c>instances</c> array as its own JSON bytes.</summary>
    /// <exception cref="InvalidRequestException">The body is not <c>{"instances": [...]}</c> with 1 to <see cref="MaxInstances"/> elements.</exception>
    internal static ReadOnlyMemory<byte>[] Instances(ReadOnlyMemory<byte> body)
    {
        const string Form = "send {\"instances\": [{\"data\": \"<base64 image>\"}, ...]}";
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("instances", out var instances))
            {
                throw new InvalidRequestException($"A KServe v1 request is a JSON object with an \"instances\" array: {Form}.");
            }
            if (instances.ValueKind != JsonValueKind.Array || instances.GetArrayLength() is 0 or > MaxInstances)
            {
                throw new InvalidRequestException(instances.ValueKind == JsonValueKind.Array
                    ? $"\"instances\" has {instances.GetArrayLength()} elements; a request carries 1 to {MaxInstances}."
                    : $"\"instances\" must be an array, not {instances.ValueKind}: {Form}.");
            }
            var result = new ReadOnlyMemory<byte>[instances.GetArrayLength()];
            var i = 0;
            foreach (var instance in instances.EnumerateArray())
            {
                result[i++] = Encoding.UTF8.GetBytes(instance.GetRawText());
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException($"The body is not valid JSON: {e.Message}", e);
        }
    }

}

/// <summary>
/// KServe v1 on the wire: each of the body's instances one request, the answers one
/// <c>{"predictions": [...]}</c> (or <c>explanations</c>) in order, errors as TorchServe's JSON
/// (KServe v1 has no per-instance error: the first failure answers for the request, naming its instance).
/// </summary>
internal sealed class KServeV1Codec : IInferenceCodec<HttpContext, KServeV1Codec.None>
{
    /// <summary>Nothing to keep between decoding and answering.</summary>
    internal readonly record struct None;

    public static readonly KServeV1Codec Instance = new();

    public InferenceTarget Target(HttpContext call)
    {
        var target = call.Request.RouteValues["target"] as string ?? "";
        var colon = target.LastIndexOf(':');
        return new InferenceTarget(target[..colon], null, Explain: target[(colon + 1)..] == "explain");
    }

    public async ValueTask<Decoded<None>> DecodeAsync(HttpContext call, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        // Pooled for predictions (see TorchServeCodec): each instance stays a slice of it.
        var (body, pooled, error) = await HttpInference.ReadBodyAsync(call, pipeline, pooled: !Target(call).Explain, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return new Decoded<None>(default, [], error);
        }
        ReadOnlyMemory<byte>[] instances;
        try
        {
            instances = KServeV1Http.Instances(body);
        }
        catch (InvalidRequestException e)
        {
            pooled?.Release();
            return Decoded<None>.Refused(InferenceErrorKind.InvalidRequest, e.Message);
        }
        var requests = new InferenceRequest[instances.Length];
        for (var i = 0; i < instances.Length; i++)
        {
            requests[i] = HttpInference.Request(call.Request, instances[i], InferenceResult.JsonContentType);
        }
        return Decoded<None>.Of(default, requests) with { Body = pooled };
    }

    public Task WriteAsync(HttpContext call, ServedModel model, None input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken) =>
        HttpInference.WriteAsync(call, StatusCodes.Status200OK, InferenceResult.JsonContentType,
            Answer(Target(call).Explain ? "explanations" : "predictions", results), cancellationToken);

    public Task WriteErrorAsync(HttpContext call, InferenceResult error, CancellationToken cancellationToken) =>
        TorchServeErrorBody.WriteAsync(call, error);

    /// <summary><c>{"predictions": [...]}</c>: a JSON result as it is, any other as a string of its UTF-8 text.</summary>
    private static ReadOnlyMemory<byte> Answer(string member, IReadOnlyList<InferenceResult> results)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray(member);
            foreach (var result in results)
            {
                if (result.ContentType.StartsWith(InferenceResult.JsonContentType, StringComparison.OrdinalIgnoreCase))
                {
                    writer.WriteRawValue(result.Body.Span);
                }
                else
                {
                    writer.WriteStringValue(Encoding.UTF8.GetString(result.Body.Span));
                }
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

}
