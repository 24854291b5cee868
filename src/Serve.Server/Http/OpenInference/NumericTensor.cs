using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>An Open Inference Protocol numeric input (JSON data or binary extension) as a <see cref="TensorBody"/>.</summary>
internal static class NumericTensor
{
    public static (ReadOnlyMemory<byte> Body, string ContentType) Read(JsonElement input, string name, string? datatype, ReadOnlyMemory<byte> binary)
    {
        var size = datatype switch
        {
            "BOOL" or "UINT8" or "INT8" => 1,
            "UINT16" or "INT16" or "FP16" => 2,
            "UINT32" or "INT32" or "FP32" => 4,
            "UINT64" or "INT64" or "FP64" => 8,
            _ => throw new InvalidRequestException(
                $"Input '{name}' has datatype {datatype ?? "(none)"}; the Open Inference Protocol's are BOOL, UINT8-64, INT8-64, FP16, FP32, FP64 and BYTES."),
        };
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException($"Input '{name}' has no \"shape\" array.");
        }
        var shape = new long[shapeElement.GetArrayLength()];
        long count = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shapeElement[i].ValueKind != JsonValueKind.Number || !shapeElement[i].TryGetInt64(out shape[i]) || shape[i] < 0)
            {
                throw new InvalidRequestException($"Input '{name}' has shape {shapeElement.GetRawText()}; dimensions are whole numbers of at least 0.");
            }
            if (shape[i] != 0 && count > int.MaxValue / shape[i])
            {
                throw new InvalidRequestException($"Input '{name}' has shape {shapeElement.GetRawText()}: more elements than a request can hold.");
            }
            count *= shape[i];
        }

        ReadOnlyMemory<byte> body;
        if (input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("binary_data_size", out _))
        {
            body = binary;
        }
        else if (input.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
        {
            var buffer = new ArrayBufferWriter<byte>((int)Math.Clamp(count * size, 1, 1 << 20)); // shape [0] holds nothing, but a buffer needs room for one
            Write(data, datatype!, size, buffer, name);
            body = buffer.WrittenMemory;
        }
        else
        {
            throw new InvalidRequestException($"Input '{name}' has no \"data\" array (or binary_data_size parameter).");
        }
        if (body.Length != count * size)
        {
            throw new InvalidRequestException($"Input '{name}' has shape {shapeElement.GetRawText()}, {count} elements, but holds {body.Length / size}.");
        }
        return (body, TensorBody.ContentType(datatype!, shape));
    }

    /// <summary>Writes the elements of (possibly nested) JSON arrays, row-major, little-endian.</summary>
    private static void Write(JsonElement data, string datatype, int size, ArrayBufferWriter<byte> buffer, string name)
    {
        foreach (var element in data.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                Write(element, datatype, size, buffer, name);
                continue;
            }
            if (!TryWrite(element, datatype, buffer.GetSpan(size)))
            {
                throw new InvalidRequestException($"Input '{name}' holds {element.GetRawText()}, which is not a {datatype} value.");
            }
            buffer.Advance(size);
        }
    }

    private static bool TryWrite(JsonElement element, string datatype, Span<byte> span)
    {
        // JsonElement's TryGet methods throw on anything but a number.
        if (element.ValueKind != JsonValueKind.Number && datatype != "BOOL")
        {
            return false;
        }
        switch (datatype)
        {
            case "BOOL" when element.ValueKind is JsonValueKind.True or JsonValueKind.False:
                span[0] = element.GetBoolean() ? (byte)1 : (byte)0;
                return true;
            case "UINT8" when element.TryGetByte(out var value):
                span[0] = value;
                return true;
            case "INT8" when element.TryGetSByte(out var value):
                span[0] = unchecked((byte)value);
                return true;
            case "UINT16" when element.TryGetUInt16(out var value):
                BinaryPrimitives.WriteUInt16LittleEndian(span, value);
                return true;
            case "INT16" when element.TryGetInt16(out var value):
                BinaryPrimitives.WriteInt16LittleEndian(span, value);
                return true;
            case "UINT32" when element.TryGetUInt32(out var value):
                BinaryPrimitives.WriteUInt32LittleEndian(span, value);
                return true;
            case "INT32" when element.TryGetInt32(out var value):
                BinaryPrimitives.WriteInt32LittleEndian(span, value);
                return true;
            case "UINT64" when element.TryGetUInt64(out var value):
                BinaryPrimitives.WriteUInt64LittleEndian(span, value);
                return true;
            case "INT64" when element.TryGetInt64(out var value):
                BinaryPrimitives.WriteInt64LittleEndian(span, value);
                return true;
            case "FP16" when element.TryGetDouble(out var value):
                BinaryPrimitives.WriteHalfLittleEndian(span, (Half)value);
                return true;
            case "FP32" when element.TryGetSingle(out var value):
                BinaryPrimitives.WriteSingleLittleEndian(span, value);
                return true;
            case "FP64" when element.TryGetDouble(out var value):
                BinaryPrimitives.WriteDoubleLittleEndian(span, value);
                return true;
            default:
                return false;
        }
    }
}
