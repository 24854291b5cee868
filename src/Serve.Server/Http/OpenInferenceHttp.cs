using System;
using System.Buffers;
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
/// <c>POST /v2/models/{m}[/versions/{v}]/infer</c> with JSON tensors or the binary tensor data
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
            var ready = models.IsReady;
            return WriteJsonAsync(httpContext, ready ? 200 : 503, w => w.WriteBoolean("ready", ready));
        }));
        foreach (var prefix in new[] { "/v2/models/{model}", "/v2/models/{model}/versions/{version}" })
        {
            endpoints.MapGet(prefix, new RequestDelegate(httpContext => MetadataAsync(httpContext, models)));
            endpoints.MapGet(prefix + "/ready", new RequestDelegate(httpContext => ReadyAsync(httpContext, models)));
            endpoints.MapPost(prefix + "/infer", new RequestDelegate(httpContext => InferAsync(httpContext, models)));
        }
        return endpoints;
    }

    private static bool TryFind(HttpContext httpContext, ModelManager models, out ServedModel model, out string missing)
    {
        var name = httpContext.Request.RouteValues["model"] as string ?? "";
        var version = httpContext.Request.RouteValues["version"] as string;
        if (models.TryGet(name, version, out var found))
        {
            model = found;
            missing = "";
            return true;
        }
        model = null!;
        var served = models.Versions(name);
        missing = version is null || served.Count == 0
            ? $"Model not found: {name}"
            : $"Model {name} has no version {version} (it serves {string.Join(", ", served.Select(m => m.Version))}).";
        return false;
    }

    private static Task MetadataAsync(HttpContext httpContext, ModelManager models)
    {
        if (!TryFind(httpContext, models, out var model, out var missing))
        {
            return WriteErrorAsync(httpContext, InferenceErrorKind.ModelNotFound, missing);
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
        if (!TryFind(httpContext, models, out var model, out var missing))
        {
            return WriteErrorAsync(httpContext, InferenceErrorKind.ModelNotFound, missing);
        }
        return WriteJsonAsync(httpContext, 200, w =>
        {
            w.WriteString("name", model.Name);
            w.WriteBoolean("ready", model.Status == ModelStatus.Ready && model.WorkerCount > 0);
        });
    }

    private static async Task InferAsync(HttpContext httpContext, ModelManager models)
    {
        if (!TryFind(httpContext, models, out var model, out var missing))
        {
            await WriteErrorAsync(httpContext, InferenceErrorKind.ModelNotFound, missing).ConfigureAwait(false);
            return;
        }
        var body = await HttpInference.ReadBodyAsync(httpContext).ConfigureAwait(false);
        if (body.Error is { } bodyError)
        {
            await WriteJsonAsync(httpContext, bodyError.StatusCode, w => w.WriteString("error", bodyError.Message)).ConfigureAwait(false);
            return;
        }

        OpenInferenceRequest parsed;
        try
        {
            parsed = OpenInferenceRequest.Parse(body.Bytes, httpContext.Request.Headers[HeaderLengthHeader].ToString());
        }
        catch (InvalidRequestException e)
        {
            await WriteErrorAsync(httpContext, InferenceErrorKind.InvalidRequest, e.Message).ConfigureAwait(false);
            return;
        }

        InferenceResult result;
        try
        {
            var request = HttpInference.Request(httpContext.Request, parsed.Input, parsed.ContentType);
            result = HttpInference.WithinResponseLimit(httpContext,
                await model.InferAsync(request, explain: false, httpContext.RequestAborted).ConfigureAwait(false), model.Name);
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        if (result.ErrorKind is { } kind)
        {
            await WriteErrorAsync(httpContext, kind, result.ErrorMessage ?? "").ConfigureAwait(false);
            return;
        }

        await WriteResultAsync(httpContext, model, parsed, result).ConfigureAwait(false);
    }

    /// <summary>
    /// One BYTES output holding the handler's body: as a JSON string for text and JSON, as base64
    /// otherwise, or after the JSON header when the client asked for binary data.
    /// </summary>
    private static Task WriteResultAsync(HttpContext httpContext, ServedModel model, OpenInferenceRequest parsed, InferenceResult result)
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

    private static Task WriteErrorAsync(HttpContext httpContext, InferenceErrorKind kind, string message)
    {
        HttpInference.AddRetryAfter(httpContext.Response, kind);
        return WriteJsonAsync(httpContext, HttpInference.Status(kind), w => w.WriteString("error", message));
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

/// <summary>The one input of an Open Inference Protocol infer request, as a handler's request body.</summary>
/// <param name="Id">The request's id, echoed in the answer.</param>
/// <param name="Input">The handler's request body.</param>
/// <param name="ContentType">A numeric tensor's <see cref="TensorBody"/> content type; null for BYTES.</param>
/// <param name="BinaryOutput">The client asked for the output as binary data after the JSON header
/// (<c>parameters.binary_data_output</c>, or <c>binary_data</c> on a requested output).</param>
internal readonly record struct OpenInferenceRequest(string? Id, ReadOnlyMemory<byte> Input, string? ContentType, bool BinaryOutput)
{
    /// <exception cref="InvalidRequestException">The body is not an infer request this server can run; the message says why.</exception>
    public static OpenInferenceRequest Parse(ReadOnlyMemory<byte> body, string headerLength)
    {
        var json = body;
        var binary = ReadOnlyMemory<byte>.Empty;
        if (headerLength.Length > 0)
        {
            if (!int.TryParse(headerLength, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > body.Length)
            {
                throw new InvalidRequestException(
                    $"{OpenInferenceHttp.HeaderLengthHeader} is '{headerLength}'; it must be the length of the JSON part, at most the body's {body.Length} bytes.");
            }
            json = body[..length];
            binary = body[length..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException($"The infer request is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidRequestException("An infer request is a JSON object with an \"inputs\" array.");
            }
            if (inputs.GetArrayLength() != 1)
            {
                throw new InvalidRequestException($"This model takes one input, a BYTES tensor holding the request body; the request has {inputs.GetArrayLength()}.");
            }
            var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            var (input, contentType) = ReadInput(inputs[0], binary);
            return new OpenInferenceRequest(id, input, contentType, WantsBinaryOutput(root));
        }
    }

    private static bool WantsBinaryOutput(JsonElement root)
    {
        static bool Flag(JsonElement owner, string name) =>
            owner.ValueKind == JsonValueKind.Object
            && owner.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty(name, out var flag) && flag.ValueKind == JsonValueKind.True;

        if (Flag(root, "binary_data_output"))
        {
            return true;
        }
        if (root.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array)
        {
            foreach (var output in outputs.EnumerateArray())
            {
                if (Flag(output, "binary_data"))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static (ReadOnlyMemory<byte> Body, string? ContentType) ReadInput(JsonElement input, ReadOnlyMemory<byte> binary)
    {
        var name = input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : "(unnamed)";
        var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        if (datatype != "BYTES")
        {
            return NumericTensor.Read(input, name!, datatype, binary);
        }
        var parameters = input.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("binary_data_size", out var size))
        {
            if (!size.TryGetInt64(out var length) || length < 0 || length != binary.Length)
            {
                throw new InvalidRequestException(
                    $"Input '{name}' declares binary_data_size {size.GetRawText()}, but {binary.Length} bytes follow the JSON header.");
            }
            return (binary, null);
        }
        if (!input.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException($"Input '{name}' has no \"data\" array (or binary_data_size parameter).");
        }
        var element = data.GetArrayLength() == 1 ? data[0] : default;
        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() == 1)
        {
            element = element[0]; // shape [1, 1], written nested
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            var held = data.GetArrayLength() == 1 ? $"a {element.ValueKind.ToString().ToLowerInvariant()}" : $"{data.GetArrayLength()} elements";
            throw new InvalidRequestException($"Input '{name}' must hold exactly one string element; it holds {held}.");
        }
        var base64 = parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("content_type", out var contentType)
            && contentType.ValueKind == JsonValueKind.String && contentType.GetString() == "base64";
        if (!base64)
        {
            return (Encoding.UTF8.GetBytes(element.GetString()!), null);
        }
        try
        {
            return (element.GetBytesFromBase64(), null);
        }
        catch (FormatException)
        {
            throw new InvalidRequestException($"Input '{name}' says content_type base64, but its element is not valid base64.");
        }
    }
}
