using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Serve.Runtime;

namespace Serve.Handlers.Vision;

/// <summary>
/// An image sent already as a tensor, which TorchServe's VisionHandler takes as it is: a request
/// whose data is a list becomes <c>torch.FloatTensor(data)</c>, with no decode and no transforms.
/// Here that is an FP32 tensor body (an Open Inference Protocol input, <see cref="TensorBody"/>)
/// or a JSON body of nested number lists, alone or as the "data" (or "body") member of an object,
/// as KServe v1 instances arrive. Its shape is C x H x W, or 1 x C x H x W (the leading 1 dropped,
/// since the batch stacks one tensor per request).
/// </summary>
public static class TensorInput
{
    /// <summary>The tensor the request holds; false when it holds something else (an image).</summary>
    /// <exception cref="InvalidRequestException">A tensor of another element type or rank, or a ragged or non-numeric list.</exception>
    public static bool TryRead(InferenceRequest request, [NotNullWhen(true)] out Tensor<float>? tensor)
    {
        tensor = null;
        if (TensorBody.TryGetShape(request, out var datatype, out var shape))
        {
            if (datatype != "FP32")
            {
                throw new InvalidRequestException($"An image tensor must be FP32, as torch.FloatTensor makes it; this input is {datatype}.");
            }
            // Read into rented memory, as a decoded image's tensor is: the generated handler gives it back.
            var body = request.Body.Span;
            tensor = Tensor<float>.Rent(ImageShape(shape, body.Length / sizeof(float)));
            TensorBody.CopySingles(body, tensor.Span);
            return true;
        }
        if (JsonList(request.Body.Span) is not { } list)
        {
            return false;
        }
        tensor = new Tensor<float>(list.Values, ImageShape(list.Shape, list.Values.Length));
        return true;
    }

    /// <summary>The C x H x W shape of an image tensor sent with <paramref name="shape"/> and <paramref name="count"/> values.</summary>
    private static long[] ImageShape(long[] shape, long count)
    {
        var image = shape is [1, _, _, _] ? shape[1..] : shape;
        if (image.Length != 3)
        {
            throw new InvalidRequestException(
                $"An image tensor is C x H x W (or 1 x C x H x W); this one's shape is {Tensor.FormatShape(shape)}.");
        }
        if (count != image[0] * image[1] * image[2])
        {
            throw new InvalidRequestException(
                $"An image tensor of shape {Tensor.FormatShape(shape)} holds {image[0] * image[1] * image[2]} values; this one holds {count}.");
        }
        return image;
    }

    private const int MaxDepth = 8;

    /// <summary>The numbers of a JSON body that is a nested list (or an object whose "data" or "body" is one); null when it is not.</summary>
    private static (float[] Values, long[] Shape)? JsonList(ReadOnlySpan<byte> body)
    {
        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || body[start] is not ((byte)'[' or (byte)'{'))
        {
            return null; // image bytes, or base64 text
        }
        var reader = new Utf8JsonReader(body);
        try
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                // {"data": [...]} or {"body": [...]}: anything else is not a list (an image in base64, say).
                if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName
                    || !(reader.ValueTextEquals("data"u8) || reader.ValueTextEquals("body"u8)) || !reader.Read())
                {
                    return null;
                }
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return null;
            }
        }
        catch (JsonException)
        {
            return null; // not JSON after all: the image reader says what is wrong with it
        }
        try
        {
            return ReadList(ref reader);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new InvalidRequestException($"The body starts like a JSON list of numbers but is not one: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads the list the reader is at. Every list at one depth must have as many elements as the
    /// first one there to end, and numbers must all sit at one depth, the innermost.
    /// </summary>
    private static (float[] Values, long[] Shape) ReadList(ref Utf8JsonReader reader)
    {
        var values = new List<float>();
        var shape = new long[MaxDepth];
        Array.Fill(shape, -1);
        var counts = new long[MaxDepth]; // elements so far in the open list at each depth
        var depth = 0;                   // of the open list
        var numbersAt = -1;
        while (depth >= 0)
        {
            if (!reader.Read())
            {
                throw new InvalidRequestException("The tensor list ends before it is closed.");
            }
            switch (reader.TokenType)
            {
                case JsonTokenType.Number when numbersAt is -1 || numbersAt == depth:
                    numbersAt = depth;
                    values.Add(reader.GetSingle());
                    counts[depth]++;
                    break;
                case JsonTokenType.StartArray when numbersAt != depth:
                    if (depth + 1 == MaxDepth)
                    {
                        throw new InvalidRequestException($"The tensor list is nested deeper than {MaxDepth} levels.");
                    }
                    counts[depth]++;
                    counts[++depth] = 0;
                    break;
                case JsonTokenType.EndArray:
                    if (counts[depth] == 0)
                    {
                        throw new InvalidRequestException("The tensor list holds an empty list.");
                    }
                    if (shape[depth] == -1)
                    {
                        shape[depth] = counts[depth];
                    }
                    else if (shape[depth] != counts[depth])
                    {
                        throw new InvalidRequestException(
                            $"The tensor list is ragged: a list at depth {depth + 1} has {counts[depth]} elements where the first there had {shape[depth]}.");
                    }
                    depth--;
                    break;
                case JsonTokenType.Number or JsonTokenType.StartArray:
                    throw new InvalidRequestException("The tensor list is ragged: numbers and lists side by side, or numbers at more than one depth.");
                default:
                    throw new InvalidRequestException($"A tensor list holds numbers and lists only, not {reader.TokenType}.");
            }
        }
        return (values.ToArray(), shape[..(numbersAt + 1)]);
    }
}
