using System;
using System.Buffers;
using System.Text;
using System.Text.Json;
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

    public static void Map(IEndpointRouteBuilder endpoints, ModelManager models) =>
        // "{model}:predict" is one path segment: matched whole and split here.
        endpoints.MapPost("/v1/models/{target}", new RequestDelegate(httpContext => InferAsync(httpContext, models)));

    private static async Task InferAsync(HttpContext httpContext, ModelManager models)
    {
        var target = httpContext.Request.RouteValues["target"] as string ?? "";
        var colon = target.LastIndexOf(':');
        var (name, verb) = colon < 0 ? (target, "") : (target[..colon], target[(colon + 1)..]);
        if (verb is not ("predict" or "explain"))
        {
            await WriteAsync(httpContext, StatusCodes.Status404NotFound, TorchServeHttp.ErrorJson(404, "ResourceNotFoundException",
                $"KServe v1 serves POST /v1/models/{{model}}:predict and :explain, not '{target}'.")).ConfigureAwait(false);
            return;
        }
        if (!models.TryGet(name, out var model))
        {
            await WriteErrorAsync(httpContext, InferenceResult.Error(InferenceErrorKind.ModelNotFound, $"Model not found: {name}")).ConfigureAwait(false);
            return;
        }

        var body = await HttpInference.ReadBodyAsync(httpContext).ConfigureAwait(false);
        if (body.Error is { } error)
        {
            await WriteAsync(httpContext, error.StatusCode, TorchServeHttp.ErrorJson(error.StatusCode, error.Type, error.Message)).ConfigureAwait(false);
            return;
        }
        ReadOnlyMemory<byte>[] instances;
        try
        {
            instances = Instances(body.Bytes);
        }
        catch (InvalidRequestException e)
        {
            await WriteErrorAsync(httpContext, InferenceResult.Error(InferenceErrorKind.InvalidRequest, e.Message)).ConfigureAwait(false);
            return;
        }

        var explain = verb == "explain";
        var pending = new Task<InferenceResult>[instances.Length];
        for (var i = 0; i < instances.Length; i++)
        {
            var request = HttpInference.Request(httpContext.Request, instances[i], "application/json");
            pending[i] = model.InferAsync(request, explain, httpContext.RequestAborted);
        }
        InferenceResult[] results;
        try
        {
            results = await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            return; // The client left; its batch goes on without it.
        }
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].ErrorKind is { } kind)
            {
                // KServe v1 has no per-instance error: the first failure answers for the request, naming its instance.
                await WriteErrorAsync(httpContext, InferenceResult.Error(kind, $"Instance {i}: {results[i].ErrorMessage}")).ConfigureAwait(false);
                return;
            }
        }
        await WriteAsync(httpContext, StatusCodes.Status200OK, Answer(explain ? "explanations" : "predictions", results)).ConfigureAwait(false);
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

    /// <summary><c>{"predictions": [...]}</c>: a JSON result as it is, any other as a string of its UTF-8 text.</summary>
    private static ReadOnlyMemory<byte> Answer(string member, InferenceResult[] results)
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

    private static Task WriteErrorAsync(HttpContext httpContext, InferenceResult error)
    {
        var kind = error.ErrorKind!.Value;
        HttpInference.AddRetryAfter(httpContext.Response, kind);
        var status = HttpInference.Status(kind);
        return WriteAsync(httpContext, status, TorchServeHttp.ErrorJson(status, TorchServeHttp.TypeName(kind), error.ErrorMessage ?? ""));
    }

    private static Task WriteAsync(HttpContext httpContext, int status, ReadOnlyMemory<byte> json)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = InferenceResult.JsonContentType;
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json, httpContext.RequestAborted).AsTask();
    }
}
