using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Serve.Archives;
using Serve.Runtime;
using Serve.Server;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's management API: register, list (paginated), describe, scale, unregister,
/// set-default, with its JSON and status codes (docs/management_api.md). Register and unregister
/// answer 405 unless <c>enable_model_api=true</c>, as TorchServe's model API control does.
/// </summary>
public static class ManagementHttp
{
    private const int MaxPageSize = 100;

    /// <summary>Maps the management endpoints.</summary>
    public static IEndpointRouteBuilder MapTorchServeManagement(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var context = new ManagementContext(
            services.GetRequiredService<ModelManager>(),
            services.GetRequiredService<TorchServeConfig>(),
            services.GetRequiredService<ModelRegistrations>(),
            services.GetRequiredService<ModelWorkDirectory>());

        endpoints.MapPost("/models", new RequestDelegate(http => RegisterAsync(http, context)));
        endpoints.MapGet("/models", new RequestDelegate(http => ListAsync(http, context)));
        endpoints.MapGet("/models/{model}", new RequestDelegate(http => DescribeAsync(http, context)));
        endpoints.MapGet("/models/{model}/{version}", new RequestDelegate(http => DescribeAsync(http, context)));
        endpoints.MapPut("/models/{model}", new RequestDelegate(http => ScaleAsync(http, context)));
        endpoints.MapPut("/models/{model}/{version}", new RequestDelegate(http => ScaleAsync(http, context)));
        endpoints.MapDelete("/models/{model}", new RequestDelegate(http => UnregisterAsync(http, context)));
        endpoints.MapDelete("/models/{model}/{version}", new RequestDelegate(http => UnregisterAsync(http, context)));
        endpoints.MapPut("/models/{model}/{version}/set-default", new RequestDelegate(http => SetDefaultAsync(http, context)));
        return endpoints;
    }

    private sealed record ManagementContext(ModelManager Models, TorchServeConfig Config, ModelRegistrations Registrations, ModelWorkDirectory WorkDirectory);

    private static async Task RegisterAsync(HttpContext http, ManagementContext context)
    {
        if (!context.Config.EnableModelApi)
        {
            await ModelApiDisabledAsync(http);
            return;
        }
        var query = http.Request.Query;
        foreach (var unsupported in new[] { "batch_size", "max_batch_delay", "response_timeout" })
        {
            if (query.ContainsKey(unsupported))
            {
                await BadRequestAsync(http, $"{unsupported} at registration is not supported yet: set it in the archive's model-config.yaml.");
                return;
            }
        }
        int? initialWorkers = null;
        if (query.ContainsKey("initial_workers"))
        {
            if (!int.TryParse(query["initial_workers"], NumberStyles.None, CultureInfo.InvariantCulture, out var workers) || workers < 1)
            {
                await BadRequestAsync(http, $"initial_workers='{query["initial_workers"]}' must be a whole number of at least 1.");
                return;
            }
            initialWorkers = workers;
        }

        var url = query["url"].ToString();
        ModelSource source;
        try
        {
            source = new ModelUrlPolicy(context.Config.AllowedUrls, context.Config.ModelStore).Check(url);
        }
        catch (ModelUrlRefusedException e)
        {
            await BadRequestAsync(http, e.Message);
            return;
        }
        // A directory of its own: unpacking must never replace the files of a model being served.
        var workDirectory = Path.Combine(context.WorkDirectory.Path, Guid.NewGuid().ToString("N"));
        var location = source.Location;
        if (source.IsRemote)
        {
            try
            {
                location = await ArchiveDownload.FetchAsync(url, Path.Combine(workDirectory, "download"), context.Config.MaxArchiveUnpackedSize, http.RequestAborted);
            }
            catch (Exception e) when (e is ModelArchiveException or HttpRequestException)
            {
                await BadRequestAsync(http, e is HttpRequestException ? $"Downloading '{url}' failed: {e.Message}" : e.Message);
                return;
            }
        }
        if (!File.Exists(location) && !Directory.Exists(location))
        {
            await TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelNotFoundException", $"Model not found at: {url}");
            return;
        }

        UnpackedArchive archive;
        try
        {
            archive = ModelArchiveReader.Open(location, workDirectory, context.Config.ExtractionLimits);
        }
        catch (ModelArchiveException e)
        {
            await BadRequestAsync(http, e.Message);
            return;
        }

        var name = query["model_name"] is { Count: > 0 } given ? given.ToString() : archive.Manifest.ModelName;
        if (context.Models.TryGet(name, out var existing))
        {
            await TorchServeErrors.WriteAsync(http, StatusCodes.Status409Conflict, "ConflictStatusException",
                $"Model version {existing.Version} is already registered for model {name}");
            return;
        }
        var handler = query["handler"] is { Count: > 0 } h ? h.ToString() : ManifestHandler.RegisteredName(archive.Manifest.Handler ?? name);
        ServedModel model;
        try
        {
            model = await context.Models.LoadAsync(new ModelOptions { Name = name, Path = archive.Directory, Handler = ManifestHandler.RegisteredName(handler) }, http.RequestAborted);
            if (initialWorkers is { } workers && workers != model.WorkerCount)
            {
                await model.ScaleAsync(workers, http.RequestAborted);
            }
        }
        catch (ArgumentOutOfRangeException e)
        {
            // Loaded, but the workers asked for are outside the archive's minWorkers..maxWorkers.
            await context.Models.UnregisterAsync(name, CancellationToken.None);
            await BadRequestAsync(http, $"initial_workers={initialWorkers}: {e.Message.Split(" (Parameter")[0]}");
            return;
        }
        catch (ModelLoadException e)
        {
            await BadRequestAsync(http, e.Message);
            return;
        }
        catch (InvalidOperationException e)
        {
            await TorchServeErrors.WriteAsync(http, StatusCodes.Status409Conflict, "ConflictStatusException", e.Message);
            return;
        }
        context.Registrations.Add(name, url, loadedAtStartup: false);
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK,
            $"Model \"{name}\" Version: {model.Version} registered with {model.WorkerCount} initial workers");
    }

    private static Task ListAsync(HttpContext http, ManagementContext context)
    {
        var query = http.Request.Query;
        var limit = MaxPageSize;
        if (query.ContainsKey("limit") && (!int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            return BadRequestAsync(http, $"limit='{query["limit"]}' must be a whole number of at least 1.");
        }
        limit = Math.Min(limit, MaxPageSize);
        var start = 0;
        if (query.ContainsKey("next_page_token") && (!int.TryParse(query["next_page_token"], NumberStyles.None, CultureInfo.InvariantCulture, out start)))
        {
            return BadRequestAsync(http, $"next_page_token='{query["next_page_token"]}' is not a token this server gave.");
        }

        var names = context.Models.Models.Select(m => m.Name).Order(StringComparer.Ordinal).ToArray();
        var page = names.Skip(start).Take(limit).ToArray();
        return TorchServeErrors.WriteJsonAsync(http, StatusCodes.Status200OK, json =>
        {
            if (start + limit < names.Length)
            {
                json.WriteString("nextPageToken", (start + limit).ToString(CultureInfo.InvariantCulture));
            }
            json.WriteStartArray("models");
            foreach (var name in page)
            {
                json.WriteStartObject();
                json.WriteString("modelName", name);
                json.WriteString("modelUrl", context.Registrations.UrlOf(name));
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
    }

    private static Task DescribeAsync(HttpContext http, ManagementContext context)
    {
        if (!TryFind(http, context, out var model, out var refusal))
        {
            return refusal;
        }
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("modelName", model.Name);
            json.WriteString("modelVersion", model.Version);
            json.WriteString("modelUrl", context.Registrations.UrlOf(model.Name));
            json.WriteString("runtime", model.Manifest.Runtime);
            json.WriteNumber("minWorkers", model.WorkerCount);
            json.WriteNumber("maxWorkers", Math.Max(model.WorkerCount, model.Config.MaxWorkers));
            json.WriteNumber("batchSize", model.Config.BatchSize);
            json.WriteNumber("maxBatchDelay", model.Config.MaxBatchDelay);
            json.WriteNumber("responseTimeout", model.Config.ResponseTimeout);
            json.WriteNumber("startupTimeout", model.Config.StartupTimeout);
            json.WriteBoolean("loadedAtStartup", context.Registrations.LoadedAtStartup(model.Name));
            json.WriteStartArray("workers");
            for (var i = 0; i < model.WorkerCount; i++)
            {
                json.WriteStartObject();
                json.WriteString("id", (9000 + i).ToString(CultureInfo.InvariantCulture));
                json.WriteString("status", "READY");
                json.WriteBoolean("gpu", model.Config.DeviceType is "gpu" or "cuda");
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("jobQueueStatus");
            json.WriteNumber("remainingCapacity", Math.Max(0, model.Config.JobQueueSize - model.QueueLength));
            json.WriteNumber("pendingRequests", model.QueueLength);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
        }
        return TorchServeErrors.WriteBodyAsync(http, StatusCodes.Status200OK, body);
    }

    private static async Task ScaleAsync(HttpContext http, ManagementContext context)
    {
        if (!TryFind(http, context, out var model, out var refusal))
        {
            await refusal;
            return;
        }
        var query = http.Request.Query;
        if (!int.TryParse(query["min_worker"], NumberStyles.None, CultureInfo.InvariantCulture, out var minWorkers) || minWorkers < 1)
        {
            await BadRequestAsync(http, $"min_worker='{query["min_worker"]}' must be a whole number of at least 1 (this server serves a model with at least one worker).");
            return;
        }
        if (query.ContainsKey("max_worker") && (!int.TryParse(query["max_worker"], NumberStyles.None, CultureInfo.InvariantCulture, out var maxWorkers) || maxWorkers < minWorkers))
        {
            await BadRequestAsync(http, $"max_worker='{query["max_worker"]}' must be a whole number no smaller than min_worker.");
            return;
        }
        if (minWorkers < model.Config.MinWorkers || minWorkers > model.Config.MaxWorkers)
        {
            await BadRequestAsync(http, $"min_worker={minWorkers}: model '{model.Name}' runs between {model.Config.MinWorkers} and {model.Config.MaxWorkers} workers (minWorkers, maxWorkers in its model-config.yaml).");
            return;
        }
        var synchronous = !string.Equals(query["synchronous"], "false", StringComparison.OrdinalIgnoreCase);
        var scaling = model.ScaleAsync(minWorkers, synchronous ? http.RequestAborted : CancellationToken.None);
        if (!synchronous)
        {
            await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status202Accepted, "Processing worker updates...");
            return;
        }
        await scaling;
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Workers scaled to {minWorkers} for model: {model.Name}");
    }

    private static async Task UnregisterAsync(HttpContext http, ManagementContext context)
    {
        if (!context.Config.EnableModelApi)
        {
            await ModelApiDisabledAsync(http);
            return;
        }
        if (!TryFind(http, context, out var model, out var refusal))
        {
            await refusal;
            return;
        }
        if (!await context.Models.UnregisterAsync(model.Name, http.RequestAborted))
        {
            await ModelNotFoundAsync(http, model.Name);
            return;
        }
        context.Registrations.Remove(model.Name);
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Model \"{model.Name}\" unregistered");
    }

    private static Task SetDefaultAsync(HttpContext http, ManagementContext context)
    {
        // One version is served per name, so the only version that can be the default is it.
        return TryFind(http, context, out var model, out var refusal)
            ? TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Default version successfully updated for model \"{model.Name}\" to \"{model.Version}\"")
            : refusal;
    }

    private static bool TryFind(HttpContext http, ManagementContext context, out ServedModel model, out Task refusal)
    {
        var name = (string)http.Request.RouteValues["model"]!;
        var version = http.Request.RouteValues["version"] as string;
        if (!context.Models.TryGet(name, out model!))
        {
            refusal = ModelNotFoundAsync(http, name);
            return false;
        }
        if (version is not null && version != "all" && version != model.Version)
        {
            refusal = TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelVersionNotFoundException",
                $"Model version {version} does not exist for model {name}");
            return false;
        }
        refusal = Task.CompletedTask;
        return true;
    }

    private static Task ModelNotFoundAsync(HttpContext http, string name) =>
        TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelNotFoundException", $"Model not found: {name}");

    private static Task BadRequestAsync(HttpContext http, string message) =>
        TorchServeErrors.WriteAsync(http, StatusCodes.Status400BadRequest, "BadRequestException", message);

    private static Task ModelApiDisabledAsync(HttpContext http) =>
        TorchServeErrors.WriteAsync(http, StatusCodes.Status405MethodNotAllowed, "MethodNotAllowedException",
            "Requested method is not allowed, please refer to API document. (Registering and unregistering models is off; set enable_model_api=true.)");
}
