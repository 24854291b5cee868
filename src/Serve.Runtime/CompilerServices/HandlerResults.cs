using System;
using System.Buffers;
using System.Collections.Generic;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Serve.Runtime.CompilerServices;

/// <summary>Writes one JSON value; the generator emits one per result type.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public delegate void JsonResultWriter<in T>(Utf8JsonWriter writer, T value);

/// <summary>
/// For generated handlers only: turns a postprocess (or explain) output into one
/// <see cref="InferenceResult"/> per request, after checking that there is exactly one output per request.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class HandlerResults
{
    /// <summary>The writer options System.Text.Json's serializer uses by default: at most 64 levels deep, as it allows.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { MaxDepth = 64 };

    /// <summary>Writes each result as JSON with generated writer code.</summary>
    public static InferenceResult[] FromJson<T>(IReadOnlyList<T> outputs, int requestCount, JsonResultWriter<T> write)
    {
        var results = Create(outputs, requestCount);
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer, WriterOptions);
        for (var i = 0; i < results.Length; i++)
        {
            write(writer, outputs[i]);
            writer.Flush();
            results[i] = InferenceResult.Json(buffer.WrittenSpan.ToArray());
            buffer.ResetWrittenCount();
            writer.Reset();
        }
        return results;
    }

    /// <summary>Writes each result as JSON with a user-supplied <see cref="JsonTypeInfo{T}"/>.</summary>
    public static InferenceResult[] FromJson<T>(IReadOnlyList<T> outputs, int requestCount, JsonTypeInfo<T> typeInfo)
    {
        var results = Create(outputs, requestCount);
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = InferenceResult.Json(JsonSerializer.SerializeToUtf8Bytes(outputs[i], typeInfo));
        }
        return results;
    }

    /// <summary>
    /// Writes each result as JSON with the <see cref="JsonTypeInfo{T}"/> the user's
    /// <see cref="JsonSerializerContext"/> holds for <typeparamref name="T"/>.
    /// </summary>
    public static InferenceResult[] FromJson<T>(IReadOnlyList<T> outputs, int requestCount, JsonSerializerContext jsonContext)
    {
        var typeInfo = jsonContext.GetTypeInfo(typeof(T)) as JsonTypeInfo<T> ?? throw new InvalidOperationException(
            $"{jsonContext.GetType().Name} has no JsonTypeInfo for {typeof(T).Name}; add [JsonSerializable(typeof({typeof(T).Name}))] to it.");
        return FromJson(outputs, requestCount, typeInfo);
    }

    /// <summary>Strings pass through as UTF-8 text.</summary>
    public static InferenceResult[] FromText(IReadOnlyList<string?> outputs, int requestCount)
    {
        var results = Create(outputs, requestCount);
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = InferenceResult.Text(outputs[i] ?? throw Null("string", i));
        }
        return results;
    }

    /// <summary>Bytes pass through as application/octet-stream.</summary>
    public static InferenceResult[] FromBytes(IReadOnlyList<byte[]?> outputs, int requestCount)
    {
        var results = Create(outputs, requestCount);
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = InferenceResult.Binary(outputs[i] ?? throw Null("byte[]", i));
        }
        return results;
    }

    /// <summary>Bytes pass through as application/octet-stream.</summary>
    public static InferenceResult[] FromBytes(IReadOnlyList<ReadOnlyMemory<byte>> outputs, int requestCount)
    {
        var results = Create(outputs, requestCount);
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = InferenceResult.Binary(outputs[i]);
        }
        return results;
    }

    /// <summary>Results the handler built itself pass through unchanged.</summary>
    public static InferenceResult[] FromResults(IReadOnlyList<InferenceResult?> outputs, int requestCount)
    {
        var results = Create(outputs, requestCount);
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = outputs[i] ?? throw Null(nameof(InferenceResult), i);
        }
        return results;
    }

    private static InvalidOperationException Null(string type, int request) =>
        new($"Returned a null {type} for request {request}; return a value for every request.");

    private static InferenceResult[] Create<T>(IReadOnlyList<T> outputs, int requestCount)
    {
        if (outputs is null)
        {
            throw new InvalidOperationException($"Returned null instead of {requestCount} results.");
        }
        if (outputs.Count != requestCount)
        {
            throw new InvalidOperationException(
                $"Returned {outputs.Count} results for a batch of {requestCount} requests; return exactly one per request, in order.");
        }
        return new InferenceResult[requestCount];
    }
}
