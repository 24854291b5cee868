using System;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Serve.TorchServe.Http;

/// <summary>TorchServe's JSON bodies: errors <c>{"code","type","message"}</c> and statuses <c>{"status"}</c>.</summary>
public static class TorchServeErrors
{
    /// <summary>Writes <c>{"code": status, "type": type, "message": message}</c>.</summary>
    public static Task WriteAsync(HttpContext context, int status, string type, string message) =>
        WriteJsonAsync(context, status, json =>
        {
            json.WriteNumber("code", status);
            json.WriteString("type", type);
            json.WriteString("message", message);
        });

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
