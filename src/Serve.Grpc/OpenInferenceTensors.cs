using System;
using System.Buffers.Binary;
using Google.Protobuf;
using Serve.Runtime;
using Org.Pytorch.Serve.Grpc.Openinference;
using static Org.Pytorch.Serve.Grpc.Openinference.ModelInferRequest.Types;

namespace Serve.Grpc;

/// <summary>
/// The one input of a gRPC ModelInfer request as a handler's request body, as the REST Open
/// Inference adapter makes it: a BYTES tensor of one element is the body as it is; a numeric
/// tensor becomes a <see cref="TensorBody"/> (little-endian elements, row-major, and a content type
/// naming the datatype and shape). Elements come from the typed <c>contents</c> or from
/// <c>raw_input_contents</c>, where a BYTES element is preceded by its length in 4 bytes, little-endian.
/// </summary>
internal static class OpenInferenceTensors
{
    /// <exception cref="InvalidRequestException">The tensor is not one this server can hand to a handler; the message says why.</exception>
    public static (ReadOnlyMemory<byte> Body, string? ContentType) Read(InferInputTensor input, ByteString? raw)
    {
        var name = input.Name.Length > 0 ? input.Name : "(unnamed)";
        if (input.Datatype == "BYTES")
        {
            return (Bytes(input, raw, name), null);
        }
        var size = input.Datatype switch
        {
            "BOOL" or "UINT8" or "INT8" => 1,
            "UINT16" or "INT16" or "FP16" => 2,
            "UINT32" or "INT32" or "FP32" => 4,
            "UINT64" or "INT64" or "FP64" => 8,
            _ => throw new InvalidRequestException(
                $"Input '{name}' has datatype {(input.Datatype.Length == 0 ? "(none)" : input.Datatype)}; the Open Inference Protocol's are BOOL, UINT8-64, INT8-64, FP16, FP32, FP64 and BYTES."),
        };
        long count = 1;
        foreach (var dimension in input.Shape)
        {
            if (dimension < 0 || (dimension != 0 && count > int.MaxValue / dimension))
            {
                throw new InvalidRequestException($"Input '{name}' has shape [{string.Join(", ", input.Shape)}]; dimensions are whole numbers of at least 0, and a request holds at most {int.MaxValue} elements.");
            }
            count *= dimension;
        }
        var body = raw is not null ? raw.Memory : Elements(input, size, (int)count, name);
        if (body.Length != count * size)
        {
            throw new InvalidRequestException($"Input '{name}' has shape [{string.Join(", ", input.Shape)}], {count} elements of {input.Datatype}, but holds {body.Length / size}.");
        }
        return (body, TensorBody.ContentType(input.Datatype, [.. input.Shape]));
    }

    private static ReadOnlyMemory<byte> Bytes(InferInputTensor input, ByteString? raw, string name)
    {
        if (raw is not null)
        {
            var span = raw.Span;
            if (span.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(span) != span.Length - 4)
            {
                throw new InvalidRequestException(
                    $"Input '{name}' must hold exactly one BYTES element; its raw contents are not one element preceded by its 4-byte little-endian length.");
            }
            return raw.Memory[4..];
        }
        var elements = input.Contents?.BytesContents;
        if (elements is not { Count: 1 })
        {
            throw new InvalidRequestException($"Input '{name}' must hold exactly one BYTES element in contents.bytes_contents; it holds {elements?.Count ?? 0}.");
        }
        return elements[0].Memory;
    }

    private static byte[] Elements(InferInputTensor input, int size, int count, string name)
    {
        var contents = input.Contents ?? new InferTensorContents();
        var bytes = new byte[count * size];
        var span = bytes.AsSpan();
        int held;
        switch (input.Datatype)
        {
            case "BOOL":
                held = contents.BoolContents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    span[i] = contents.BoolContents[i] ? (byte)1 : (byte)0;
                }
                break;
            case "INT8" or "INT16" or "INT32":
                held = contents.IntContents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    WriteInteger(span[(i * size)..], size, contents.IntContents[i], input.Datatype, name);
                }
                break;
            case "UINT8" or "UINT16" or "UINT32":
                held = contents.UintContents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    WriteInteger(span[(i * size)..], size, contents.UintContents[i], input.Datatype, name);
                }
                break;
            case "INT64":
                held = contents.Int64Contents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], contents.Int64Contents[i]);
                }
                break;
            case "UINT64":
                held = contents.Uint64Contents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], contents.Uint64Contents[i]);
                }
                break;
            case "FP32":
                held = contents.Fp32Contents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], contents.Fp32Contents[i]);
                }
                break;
            case "FP64":
                held = contents.Fp64Contents.Count;
                for (var i = 0; i < Math.Min(held, count); i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], contents.Fp64Contents[i]);
                }
                break;
            default: // FP16
                throw new InvalidRequestException($"Input '{name}' is FP16, which the protocol carries only in raw_input_contents.");
        }
        if (held != count)
        {
            throw new InvalidRequestException($"Input '{name}' has shape [{string.Join(", ", input.Shape)}], {count} elements, but its contents hold {held} {input.Datatype} values.");
        }
        return bytes;
    }

    private static void WriteInteger(Span<byte> span, int size, long value, string datatype, string name)
    {
        (long Min, long Max) range = datatype switch
        {
            "INT8" => (sbyte.MinValue, sbyte.MaxValue),
            "INT16" => (short.MinValue, short.MaxValue),
            "INT32" => (int.MinValue, int.MaxValue),
            "UINT8" => (0L, byte.MaxValue),
            "UINT16" => (0L, ushort.MaxValue),
            _ => (0L, (long)uint.MaxValue),
        };
        if (value < range.Min || value > range.Max)
        {
            throw new InvalidRequestException($"Input '{name}' holds {value}, which is not a {datatype} value.");
        }
        switch (size)
        {
            case 1:
                span[0] = unchecked((byte)value);
                break;
            case 2:
                BinaryPrimitives.WriteUInt16LittleEndian(span, unchecked((ushort)value));
                break;
            default:
                BinaryPrimitives.WriteUInt32LittleEndian(span, unchecked((uint)value));
                break;
        }
    }
}
