using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
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
            services.GetRequiredService<ModelProvisioning>());

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

    private sealed record ManagementContext(ModelManager Models, TorchServeConfig Config, ModelProvisioning Provisioning)
    {
        public ModelRegistrations Registrations => Provisioning.Registrations;
    }

    private static async Task RegisterAsync(HttpContext http, ManagementContext context)
    {
        if (!context.Config.EnableModelApi)
        {
            await ModelApiDisabledAsync(http);
            return;
        }
        var query = http.Request.Query;
        if (!TryInt(query, "batch_size", 1, out var batchSize, out var refusal)
            || !TryInt(query, "max_batch_delay", 0, out var maxBatchDelay, out refusal)
            || !TryInt(query, "response_timeout", 1, out var responseTimeout, out refusal)
            || !TryInt(query, "startup_timeout", 1, out var startupTimeout, out refusal)
            || !TryInt(query, "initial_workers", 1, out var initialWorkers, out refusal)
            || !TryBool(query, "synchronous", true, out var synchronous, out refusal))
        {
            await BadRequestAsync(http, refusal);
            return;
        }

        var url = query["url"].ToString();
        var request = new ModelRequest(
            ModelName: query["model_name"] is { Count: > 0 } name ? name.ToString() : null,
            Handler: query["handler"] is { Count: > 0 } handler ? handler.ToString() : null,
            batchSize, maxBatchDelay, responseTimeout, startupTimeout, initialWorkers);
        ServedModel model;
        try
        {
            model = await context.Provisioning.RegisterAsync(context.Models, url, request, synchronous, http.RequestAborted);
        }
        catch (ProvisioningException e)
        {
            await (e.Failure switch
            {
                ProvisioningFailure.NotFound => TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelNotFoundException", e.Message),
                ProvisioningFailure.Conflict => TorchServeErrors.WriteAsync(http, StatusCodes.Status409Conflict, "ConflictStatusException", e.Message),
                _ => BadRequestAsync(http, e.Message),
            });
            return;
        }
        if (!synchronous)
        {
            await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status202Accepted, "Processing worker updates...");
            return;
        }
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK,
            $"Model \"{model.Name}\" Version: {model.Version} registered with {model.WorkerCount} initial workers");
    }

    /// <summary>
    /// Reads an optional whole-number parameter of at least <paramref name="minimum"/>. TorchServe
    /// silently uses the default for a value it cannot parse; we refuse it, naming the parameter.
    /// </summary>
    private static bool TryInt(IQueryCollection query, string key, int minimum, out int? value, out string refusal)
    {
        value = null;
        refusal = "";
        if (!query.ContainsKey(key))
        {
            return true;
        }
        if (!int.TryParse(query[key], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < minimum)
        {
            refusal = $"{key}='{query[key]}' must be a whole number of at least {minimum}.";
            return false;
        }
        value = parsed;
        return true;
    }

    /// <summary>Reads an optional true/false parameter (TorchServe takes anything but "true" as false; we refuse it).</summary>
    private static bool TryBool(IQueryCollection query, string key, bool byDefault, out bool value, out string refusal)
    {
        value = byDefault;
        refusal = "";
        if (!query.ContainsKey(key))
        {
            return true;
        }
        if (!bool.TryParse(query[key], out value))
        {
            refusal = $"{key}='{query[key]}' must be true or false.";
            return false;
        }
        return true;
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

        // The default version of each name, as TorchServe lists them.
        var models = context.Models.Models.OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        var page = models.Skip(start).Take(limit).ToArray();
        return TorchServeErrors.WriteJsonAsync(http, StatusCodes.Status200OK, json =>
        {
            if (start + limit < models.Length)
            {
                json.WriteString("nextPageToken", (start + limit).ToString(CultureInfo.InvariantCulture));
            }
            json.WriteStartArray("models");
            foreach (var model in page)
            {
                json.WriteStartObject();
                json.WriteString("modelName", model.Name);
                json.WriteString("modelUrl", context.Registrations.UrlOf(model.Name, model.Version));
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
    }

    /// <summary>
    /// TorchServe's describe: an array of one model (the default version, or the one named) or of
    /// every version (<c>/all</c>). Workers are threads of this process, so each worker's
    /// <c>pid</c> is the server's and its <c>memoryUsage</c> the process's working set.
    /// </summary>
    private static Task DescribeAsync(HttpContext http, ManagementContext context)
    {
        var name = (string)http.Request.RouteValues["model"]!;
        var version = http.Request.RouteValues["version"] as string;
        IReadOnlyList<ServedModel> models;
        if (version == "all")
        {
            models = context.Models.Versions(name);
            if (models.Count == 0)
            {
                return ModelNotFoundAsync(http, name);
            }
        }
        else if (!TryFind(http, context, out var model, out var refusal))
        {
            return refusal;
        }
        else
        {
            models = [model];
        }

        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var model in models)
            {
                ModelDescription.Write(json, model, context.Registrations);
            }
            json.WriteEndArray();
        }
        return TorchServeErrors.WriteBodyAsync(http, StatusCodes.Status200OK, body);
    }

    /// <summary>
    /// TorchServe's scale workers: <c>min_worker</c> (default 1) and <c>max_worker</c> (default
    /// min_worker) replace the model's bounds; asynchronous (202) unless <c>synchronous=true</c>.
    /// </summary>
    private static async Task ScaleAsync(HttpContext http, ManagementContext context)
    {
        if (!TryFind(http, context, out var model, out var refusal))
        {
            await refusal;
            return;
        }
        var query = http.Request.Query;
        if (!TryInt(query, "min_worker", 0, out var givenMin, out var bad)
            || !TryInt(query, "max_worker", 0, out var givenMax, out bad)
            || !TryBool(query, "synchronous", false, out var synchronous, out bad))
        {
            await BadRequestAsync(http, bad);
            return;
        }
        var minWorkers = givenMin ?? 1;
        var maxWorkers = givenMax ?? minWorkers;
        try
        {
            ServedModel.CheckWorkers(minWorkers, maxWorkers, model.WorkerLimit);
        }
        catch (ArgumentOutOfRangeException e)
        {
            await BadRequestAsync(http, e.Message.Split(" (Parameter")[0]);
            return;
        }
        if (!synchronous)
        {
            model.ScaleInBackground(minWorkers, maxWorkers);
            await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status202Accepted, "Processing worker updates...");
            return;
        }
        try
        {
            await model.ScaleAsync(minWorkers, maxWorkers, http.RequestAborted);
        }
        catch (ModelLoadException e)
        {
            await TorchServeErrors.WriteAsync(http, StatusCodes.Status500InternalServerError, "InternalServerException",
                $"Failed to start workers for model {model.Name} version: {model.Version}: {e.Message}");
            return;
        }
        var version = http.Request.RouteValues["version"] is string v ? $", version: {v}" : "";
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Workers scaled to {minWorkers} for model: {model.Name}{version}");
    }

    /// <summary>
    /// Unregisters one version (the default without one). As in TorchServe, the default version
    /// cannot go while others remain: 403 InvalidModelVersionException; set another default first.
    /// </summary>
    private static async Task UnregisterAsync(HttpContext http, ManagementContext context)
    {
        if (!context.Config.EnableModelApi)
        {
            await ModelApiDisabledAsync(http);
            return;
        }
        var name = (string)http.Request.RouteValues["model"]!;
        var version = http.Request.RouteValues["version"] as string;
        var removing = version is not null && context.Models.TryGet(name, version, out var asked) ? asked
            : context.Models.TryGet(name, out var byDefault) ? byDefault : null;
        switch (await context.Models.UnregisterAsync(name, version, http.RequestAborted))
        {
            case UnregisterOutcome.ModelNotFound:
                await ModelNotFoundAsync(http, name);
                return;
            case UnregisterOutcome.VersionNotFound:
                await TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelVersionNotFoundException",
                    $"Model version: {version} does not exist for model: {name}");
                return;
            case UnregisterOutcome.IsDefaultVersion:
                await TorchServeErrors.WriteAsync(http, StatusCodes.Status403Forbidden, "InvalidModelVersionException",
                    $"Cannot remove default version for model {name}");
                return;
        }
        context.Registrations.Remove(name, removing?.Version ?? version ?? "", lastVersion: context.Models.Versions(name).Count == 0);
        context.Provisioning.Release(name, removing?.Version ?? version ?? "");
        await TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Model \"{name}\" unregistered");
    }

    private static Task SetDefaultAsync(HttpContext http, ManagementContext context)
    {
        var name = (string)http.Request.RouteValues["model"]!;
        var version = (string)http.Request.RouteValues["version"]!;
        if (!context.Models.TryGet(name, out _))
        {
            return ModelNotFoundAsync(http, name);
        }
        return context.Models.SetDefault(name, version)
            ? TorchServeErrors.WriteStatusAsync(http, StatusCodes.Status200OK, $"Default version successfully updated for model \"{name}\" to \"{version}\"")
            : TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelVersionNotFoundException", $"Model version {version} does not exist for model {name}");
    }

    /// <summary>The default version, or the one the route names; refuses an unknown model or version with TorchServe's 404.</summary>
    private static bool TryFind(HttpContext http, ManagementContext context, out ServedModel model, out Task refusal)
    {
        var name = (string)http.Request.RouteValues["model"]!;
        var version = http.Request.RouteValues["version"] as string;
        if (!context.Models.TryGet(name, out model!))
        {
            refusal = ModelNotFoundAsync(http, name);
            return false;
        }
        if (version is not null && !context.Models.TryGet(name, version, out model!))
        {
            refusal = TorchServeErrors.WriteAsync(http, StatusCodes.Status404NotFound, "ModelVersionNotFoundException",
                $"Model version: {version} does not exist for model: {name}");
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
