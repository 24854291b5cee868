using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// KServe's Open Inference Protocol v2 over REST: health, model metadata and readiness, and
/// <c>POST /v2/models/{m}[/versions/{v}]/infer</c> (and <c>/explain</c>, TorchServe's addition) with JSON tensors or the binary tensor data
/// extension. A handler takes one body, so an infer request carries one input. A BYTES tensor
/// of one element becomes the body as it is (a JSON string is its UTF-8 text, or its bytes when
/// the input's <c>parameters.content_type</c> is "base64"; binary data is taken as sent); a
/// numeric tensor becomes a <see cref="TensorBody"/>. Each result comes back as one BYTES
/// output holding the handler's body.
/// </summary>
public static class OpenInferenceHttp
{
    /// <summary>The header that says how long the JSON part of a binary-extension body is.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    public static IEndpointRouteBuilder MapOpenInferenceProtocol(this IEndpointRouteBuilder endpoints)
    {
        var models = endpoints.ServiceProvider.GetRequiredService<ModelManager>();
        endpoints.MapGet("/v2", new RequestDelegate(httpContext => WriteJsonAsync(httpContext, 200, w =>
        {
            w.WriteString("name", "serve");
            w.WriteString("version", typeof(OpenInferenceHttp).Assembly.GetName().Version?.ToString(3));
            w.WriteStartArray("extensions");
            w.WriteStringValue("binary_tensor_data");
            w.WriteEndArray();
        })));
        endpoints.MapGet("/v2/health/live", new RequestDelegate(httpContext => WriteJsonAsync(httpContext, 200, w => w.WriteBoolean("live", true))));
        endpoints.MapGet("/v2/health/ready", new RequestDelegate(httpContext =>
        {
            var ready = models.IsHealthy;
            return WriteJsonAsync(httpContext, ready ? 200 : 503, w => w.WriteBoolean("ready", ready));
        }));
        foreach (var prefix in new[] { "/v2/models/{model}", "/v2/models/{model}/versions/{version}" })
        {
            endpoints.MapGet(prefix, new RequestDelegate(httpContext => MetadataAsync(httpContext, models)));
            endpoints.MapGet(prefix + "/ready", new RequestDelegate(httpContext => ReadyAsync(httpContext, models)));
            endpoints.MapPost(prefix + "/infer", new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, OpenInferenceCodec.Instance)));
            endpoints.MapPost(prefix + "/explain", new RequestDelegate(httpContext => HttpInference.RunAsync(httpContext, OpenInferenceCodec.Explain)));
        }
        return endpoints;
    }

    private static (ServedModel? Model, InferenceResult? Error) Find(HttpContext httpContext) =>
        httpContext.RequestServices.GetRequiredService<InferencePipeline>().Find(OpenInferenceCodec.Instance.Target(httpContext));

    private static Task MetadataAsync(HttpContext httpContext, ModelManager models)
    {
        var (model, missing) = Find(httpContext);
        if (model is null)
        {
            return WriteErrorAsync(httpContext, missing!);
        }
        return WriteJsonAsync(httpContext, 200, w =>
        {
            w.WriteString("name", model.Name);
            w.WriteStartArray("versions");
            foreach (var version in models.Versions(model.Name))
            {
                w.WriteStringValue(version.Version);
            }
            w.WriteEndArray();
            w.WriteString("platform", "serve");
            WriteTensorMetadata(w, "inputs", "input-0");
            WriteTensorMetadata(w, "outputs", "output-0");
        });

        static void WriteTensorMetadata(Utf8JsonWriter w, string property, string name)
        {
            w.WriteStartArray(property);
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteString("datatype", "BYTES");
            w.WriteStartArray("shape");
            w.WriteNumberValue(-1);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
        }
    }

    private static Task ReadyAsync(HttpContext httpContext, ModelManager models)
    {
        var (model, missing) = Find(httpContext);
        if (model is null)
        {
            return WriteErrorAsync(httpContext, missing!);
        }
        return WriteJsonAsync(httpContext, 200, w =>
        {
            w.WriteString("name", model.Name);
            w.WriteBoolean("ready", model.Status == ModelStatus.Ready && model.WorkerCount > 0);
        });
    }

    /// <summary>
    /// One BYTES output holding the handler's body: as a JSON string for text and JSON, as base64
    /// otherwise, or after the JSON header when the client asked for binary data.
    /// </summary>
    internal static Task WriteResultAsync(HttpContext httpContext, ServedModel model, OpenInferenceRequest parsed, InferenceResult result)
    {
        var isText = result.ContentType.StartsWith(InferenceResult.JsonContentType, StringComparison.OrdinalIgnoreCase)
            || result.ContentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
        var header = Json(w =>
        {
            w.WriteString("model_name", model.Name);
            w.WriteString("model_version", model.Version);
            if (parsed.Id is { } id)
            {
                w.WriteString("id", id);
            }
            w.WriteStartArray("outputs");
            w.WriteStartObject();
            w.WriteString("name", "output-0");
            w.WriteString("datatype", "BYTES");
            w.WriteStartArray("shape");
            w.WriteNumberValue(1);
            w.WriteEndArray();
            w.WriteStartObject("parameters");
            // The handler's content type, except for bytes carried as base64 in JSON.
            w.WriteString("content_type", isText || parsed.BinaryOutput ? result.ContentType : "base64");
            if (parsed.BinaryOutput)
            {
                w.WriteNumber("binary_data_size", result.Body.Length);
            }
            w.WriteEndObject();
            if (!parsed.BinaryOutput)
            {
                w.WriteStartArray("data");
                if (isText)
                {
                    w.WriteStringValue(Encoding.UTF8.GetString(result.Body.Span));
                }
                else
                {
                    w.WriteBase64StringValue(result.Body.Span);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndArray();
        });

        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (!parsed.BinaryOutput)
        {
            response.ContentType = InferenceResult.JsonContentType;
            response.ContentLength = header.Length;
            return response.Body.WriteAsync(header, httpContext.RequestAborted).AsTask();
        }
        response.ContentType = InferenceResult.BinaryContentType;
        response.Headers[HeaderLengthHeader] = header.Length.ToString(CultureInfo.InvariantCulture);
        response.ContentLength = header.Length + result.Body.Length;
        return WriteBothAsync();

        async Task WriteBothAsync()
        {
            await response.Body.WriteAsync(header, httpContext.RequestAborted).ConfigureAwait(false);
            await response.Body.WriteAsync(result.Body, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The protocol's error body, <c>{"error": message}</c>, with the kind's status: its one writer.</summary>
    internal static Task WriteErrorAsync(HttpContext httpContext, InferenceResult error)
    {
        var kind = error.ErrorKind ?? throw new ArgumentException("The result did not fail.", nameof(error));
        HttpInference.AddRetryAfter(httpContext.Response, kind);
        return WriteJsonAsync(httpContext, HttpInference.Status(kind), w => w.WriteString("error", error.ErrorMessage));
    }

    private static Task WriteJsonAsync(HttpContext httpContext, int status, Action<Utf8JsonWriter> writeProperties)
    {
        var json = Json(writeProperties);
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = InferenceResult.JsonContentType;
        response.ContentLength = json.Length;
        return response.Body.WriteAsync(json, httpContext.RequestAborted).AsTask();
    }

    private static ReadOnlyMemory<byte> Json(Action<Utf8JsonWriter> writeProperties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}


/// <summary>
/// The Open Inference Protocol's infer call on the wire: the model and version from the route, the
/// one input tensor as the request (<see cref="OpenInferenceRequest"/>), the answer as one BYTES
/// output, errors as <c>{"error": message}</c>.
/// </summary>
internal sealed class OpenInferenceCodec : IInferenceCodec<HttpContext, OpenInferenceRequest>
{
    public static readonly OpenInferenceCodec Instance = new(explain: false);

    /// <summary><c>/explain</c>, as TorchServe's KServe v2 adapter serves it: the same body, the handler's [Explain] stage.</summary>
    public static readonly OpenInferenceCodec Explain = new(explain: true);

    private readonly bool _explain;

    private OpenInferenceCodec(bool explain) => _explain = explain;

    public InferenceTarget Target(HttpContext call) =>
        new(call.Request.RouteValues["model"] as string ?? "", call.Request.RouteValues["version"] as string, _explain);

    public async ValueTask<Decoded<OpenInferenceRequest>> DecodeAsync(HttpContext call, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        // Pooled for predictions (see TorchServeCodec): the binary input stays a slice of it.
        var (body, pooled, error) = await HttpInference.ReadBodyAsync(call, pipeline, pooled: !_explain, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return new Decoded<OpenInferenceRequest>(default, [], error);
        }
        try
        {
            var parsed = OpenInferenceRequest.Parse(body, call.Request.Headers[OpenInferenceHttp.HeaderLengthHeader].ToString());
            return Decoded<OpenInferenceRequest>.Of(parsed, [HttpInference.Request(call.Request, parsed.Input, parsed.ContentType)]) with { Body = pooled };
        }
        catch (InvalidRequestException e)
        {
            pooled?.Release();
            return Decoded<OpenInferenceRequest>.Refused(InferenceErrorKind.InvalidRequest, e.Message);
        }
    }

    public Task WriteAsync(HttpContext call, ServedModel model, OpenInferenceRequest input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken) =>
        OpenInferenceHttp.WriteResultAsync(call, model, input, results[0]);

    public Task WriteErrorAsync(HttpContext call, InferenceResult error, CancellationToken cancellationToken) =>
        OpenInferenceHttp.WriteErrorAsync(call, error);
}
