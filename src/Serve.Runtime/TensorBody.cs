using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Serve.Runtime;

/// <summary>
/// A numeric tensor as a request body, the way protocol adapters hand one to a handler (e.g.
/// an Open Inference Protocol FP32 input): its elements little-endian in row-major order, and
/// a content type naming the element type and shape:
/// <c>application/x-tensor; datatype=FP32; shape=1,8,8</c>.
/// </summary>
public static class TensorBody
{
    /// <summary>The media type of a tensor body, before its datatype and shape parameters.</summary>
    public const string MediaType = "application/x-tensor";

    /// <summary>The content type of a tensor body with these elements and shape.</summary>
    public static string ContentType(string datatype, ReadOnlySpan<long> shape)
    {
        var dimensions = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            dimensions[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }
        return $"{MediaType}; datatype={datatype}; shape={string.Join(',', dimensions)}";
    }

    /// <summary>True when the request body is a tensor; gives its datatype and shape.</summary>
    public static bool TryGetShape(InferenceRequest request, out string datatype, out long[] shape)
    {
        datatype = "";
        shape = [];
        var contentType = request.ContentType;
        if (contentType is null || !contentType.StartsWith(MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        foreach (var part in contentType.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("datatype=", StringComparison.Ordinal))
            {
                datatype = part["datatype=".Length..];
            }
            else if (part.StartsWith("shape=", StringComparison.Ordinal))
            {
                var dimensions = part["shape=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries);
                shape = new long[dimensions.Length];
                for (var i = 0; i < dimensions.Length; i++)
                {
                    if (!long.TryParse(dimensions[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                    {
                        return false;
                    }
                }
            }
        }
        return datatype.Length > 0;
    }

    /// <summary>The elements of an FP32 tensor body.</summary>
    /// <exception cref="InvalidRequestException">The body is not an FP32 tensor.</exception>
    public static float[] ReadSingles(InferenceRequest request)
    {
        if (!TryGetShape(request, out var datatype, out _) || datatype != "FP32")
        {
            throw new InvalidRequestException($"Expected an FP32 tensor, got {(datatype.Length == 0 ? request.ContentType ?? "no content type" : datatype)}.");
        }
        var values = new float[request.Body.Length / sizeof(float)];
        CopySingles(request.Body.Span, values);
        return values;
    }

    /// <summary>
    /// Reads <paramref name="destination"/>'s length of little-endian FP32 values (a tensor body's
    /// elements) from the start of <paramref name="bytes"/>, into memory the caller chose (a rented tensor's).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> holds fewer values than <paramref name="destination"/>.</exception>
    public static void CopySingles(ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        if (bytes.Length / sizeof(float) < destination.Length)
        {
            throw new ArgumentException($"The body holds {bytes.Length / sizeof(float)} FP32 values, fewer than the {destination.Length} asked for.", nameof(bytes));
        }
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes[..(destination.Length * sizeof(float))]).CopyTo(destination);
        }
        else
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
            }
        }
    }
}
