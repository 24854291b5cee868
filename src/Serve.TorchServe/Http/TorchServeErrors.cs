using System;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Serve.Server.Http;

namespace Serve.TorchServe.Http;

/// <summary>The management API's JSON bodies: statuses <c>{"status"}</c> and objects indented as TorchServe's are; errors through <see cref="TorchServeErrorBody"/>.</summary>
internal static class TorchServeErrors
{
    /// <summary>Writes <c>{"code": status, "type": type, "message": message}</c> (<see cref="TorchServeErrorBody"/>, the one writer of it).</summary>
    public static Task WriteAsync(HttpContext context, int status, string type, string message) =>
        TorchServeErrorBody.WriteAsync(context, status, type, message);

    /// <summary>Writes <c>{"status": message}</c>.</summary>
    public static Task WriteStatusAsync(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, json => json.WriteString("status", message));

    /// <summary>Writes one JSON object, indented as TorchServe's are.</summary>
    public static Task WriteJsonAsync(HttpContext context, int status, System.Action<Utf8JsonWriter> members)
    {
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            members(json);
            json.WriteEndObject();
        }
        return WriteBodyAsync(context, status, body);
    }

    /// <summary>Writes a JSON body already built.</summary>
    public static Task WriteBodyAsync(HttpContext context, int status, MemoryStream body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted).AsTask();
    }
}
