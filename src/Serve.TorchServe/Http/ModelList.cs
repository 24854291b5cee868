using System;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using Serve.Server;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's list models answer (its getModelList), for the REST and gRPC management APIs:
/// the default version of each name and the models that failed at start, by name, a page at a time.
/// </summary>
internal static class ModelList
{
    public const int MaxPageSize = 100;

    /// <summary>
    /// Writes <c>{"nextPageToken"?, "models": [{"modelName", "modelUrl"}]}</c>. As TorchServe: a
    /// <paramref name="limit"/> above 100 or below 1 (or none) is 100, a negative or missing
    /// <paramref name="start"/> is 0.
    /// </summary>
    public static void Write(Utf8JsonWriter json, ModelManager models, ModelRegistrations registrations, int? limit, int? start)
    {
        var size = limit is >= 1 and <= MaxPageSize ? limit.Value : MaxPageSize;
        var first = Math.Max(0, start ?? 0);
        var all = models.Models.Select(m => (m.Name, Url: registrations.UrlOf(m.Name, m.Version)))
            .Concat(models.Failures.Select(f => (f.Name, Url: registrations.UrlOf(f.Name))))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        if ((long)first + size < all.Length)
        {
            json.WriteString("nextPageToken", (first + size).ToString(CultureInfo.InvariantCulture));
        }
        json.WriteStartArray("models");
        foreach (var model in all.Skip(first).Take(size))
        {
            json.WriteStartObject();
            json.WriteString("modelName", model.Name);
            json.WriteString("modelUrl", model.Url);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
