using System;
using System.Globalization;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Serve.TorchServe.Http;

/// <summary>
/// TorchServe's management API over REST (docs/management_api.md): reads the query string and
/// the route, calls <see cref="ModelManagement"/>, and writes its answer with TorchServe's JSON
/// and status codes. Register and unregister answer 405 unless <c>enable_model_api=true</c>.
/// </summary>
internal static class ManagementHttp
{
    /// <summary>Maps the management endpoints.</summary>
    public static IEndpointRouteBuilder MapTorchServeManagement(this IEndpointRouteBuilder endpoints)
    {
        var management = endpoints.ServiceProvider.GetRequiredService<ModelManagement>();
        endpoints.MapPost("/models", new RequestDelegate(http => RegisterAsync(http, management)));
        endpoints.MapGet("/models", new RequestDelegate(http => ListAsync(http, management)));
        endpoints.MapGet("/models/{model}", new RequestDelegate(http => WriteAsync(http, management.Describe(Model(http), Version(http)))));
        endpoints.MapGet("/models/{model}/{version}", new RequestDelegate(http => WriteAsync(http, management.Describe(Model(http), Version(http)))));
        endpoints.MapPut("/models/{model}", new RequestDelegate(http => ScaleAsync(http, management)));
        endpoints.MapPut("/models/{model}/{version}", new RequestDelegate(http => ScaleAsync(http, management)));
        endpoints.MapDelete("/models/{model}", new RequestDelegate(http => UnregisterAsync(http, management)));
        endpoints.MapDelete("/models/{model}/{version}", new RequestDelegate(http => UnregisterAsync(http, management)));
        endpoints.MapPut("/models/{model}/{version}/set-default", new RequestDelegate(http => WriteAsync(http, management.SetDefault(Model(http), Version(http)!))));
        return endpoints;
    }

    private static string Model(HttpContext http) => (string)http.Request.RouteValues["model"]!;

    private static string? Version(HttpContext http) => http.Request.RouteValues["version"] as string;

    private static async Task RegisterAsync(HttpContext http, ModelManagement management)
    {
        var query = http.Request.Query;
        if (!TryInt(query, "batch_size", 1, out var batchSize, out var refusal)
            || !TryInt(query, "max_batch_delay", 0, out var maxBatchDelay, out refusal)
            || !TryInt(query, "response_timeout", 1, out var responseTimeout, out refusal)
            || !TryInt(query, "startup_timeout", 0, out var startupTimeout, out refusal)
            || !TryInt(query, "initial_workers", 0, out var initialWorkers, out refusal)
            || !TryBool(query, "synchronous", true, out var synchronous, out refusal))
        {
            await WriteAsync(http, BadRequest(refusal));
            return;
        }
        var request = new ModelRequest(
            ModelName: query["model_name"] is { Count: > 0 } name ? name.ToString() : null,
            Handler: query["handler"] is { Count: > 0 } handler ? handler.ToString() : null,
            batchSize, maxBatchDelay, responseTimeout, startupTimeout, initialWorkers);
        await WriteAsync(http, await management.RegisterAsync(query["url"].ToString(), request, synchronous,
            IsAbsent(query, "runtime") ? null : query["runtime"].ToString(), http.RequestAborted));
    }

    private static Task ListAsync(HttpContext http, ModelManagement management)
    {
        var query = http.Request.Query;
        return !TryInt(query, "limit", int.MinValue, out var limit, out var refusal) || !TryInt(query, "next_page_token", int.MinValue, out var start, out refusal)
            ? WriteAsync(http, BadRequest(refusal))
            : WriteAsync(http, management.List(limit, start));
    }

    private static async Task ScaleAsync(HttpContext http, ModelManagement management)
    {
        var query = http.Request.Query;
        if (!TryInt(query, "min_worker", 0, out var minWorkers, out var refusal)
            || !TryInt(query, "max_worker", 0, out var maxWorkers, out refusal)
            || !TryBool(query, "synchronous", false, out var synchronous, out refusal))
        {
            // An unknown model is told first, as TorchServe does.
            await WriteAsync(http, management.Missing(Model(http), Version(http)) ?? BadRequest(refusal));
            return;
        }
        await WriteAsync(http, await management.ScaleAsync(Model(http), Version(http), minWorkers, maxWorkers, synchronous, http.RequestAborted));
    }

    private static async Task UnregisterAsync(HttpContext http, ModelManagement management) =>
        await WriteAsync(http, await management.UnregisterAsync(Model(http), Version(http), http.RequestAborted));

    /// <summary>
    /// Reads an optional whole-number parameter of at least <paramref name="minimum"/>; absent or
    /// empty (<c>limit=</c>) takes the default, as in TorchServe. TorchServe silently uses the
    /// default for a value it cannot parse too; we refuse it, naming the parameter.
    /// </summary>
    private static bool TryInt(IQueryCollection query, string key, int minimum, out int? value, out string refusal)
    {
        value = null;
        refusal = "";
        if (IsAbsent(query, key))
        {
            return true;
        }
        if (!int.TryParse(query[key], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) || parsed < minimum)
        {
            refusal = $"{key}='{query[key]}' must be a whole number{(minimum == int.MinValue ? "" : $" of at least {minimum}")}.";
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
        if (IsAbsent(query, key))
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

    /// <summary>An absent parameter, or one given empty (<c>limit=&amp;next_page_token=</c>): the default applies.</summary>
    private static bool IsAbsent(IQueryCollection query, string key) => !query.TryGetValue(key, out var given) || string.IsNullOrEmpty(given.ToString());

    private static ManagementAnswer BadRequest(string message) => ManagementAnswer.Error(ManagementStatus.BadRequest, "BadRequestException", message);

    /// <summary>An error as <c>{"code", "type", "message"}</c>, a document as it is, a status as <c>{"status": ...}</c>.</summary>
    private static Task WriteAsync(HttpContext http, ManagementAnswer answer)
    {
        var status = (int)answer.Status;
        if (answer.IsError)
        {
            return TorchServeErrors.WriteAsync(http, status, answer.ErrorType!, answer.Message);
        }
        if (answer.Json is { } json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            var body = new System.IO.MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true);
            return TorchServeErrors.WriteBodyAsync(http, status, body);
        }
        return TorchServeErrors.WriteStatusAsync(http, status, answer.Message);
    }
}
