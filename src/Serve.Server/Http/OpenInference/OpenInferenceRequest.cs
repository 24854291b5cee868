using System;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Server.Http;

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
            try
            {
                var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
                var (input, contentType) = ReadInput(inputs[0], binary);
                return new OpenInferenceRequest(id, input, contentType, WantsBinaryOutput(root));
            }
            catch (InvalidOperationException e)
            {
                // JsonElement's own refusals: a string that is not valid UTF-8 or holds a lone surrogate, a value of another kind.
                throw new InvalidRequestException($"The infer request holds a value this server cannot read: {e.Message}", e);
            }
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
