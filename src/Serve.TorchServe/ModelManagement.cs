using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using Serve.Server;
using Serve.TorchServe.Http;

namespace Serve.TorchServe;

/// <summary>How a management operation ended, valued as TorchServe's HTTP status for it (its gRPC API maps the same codes).</summary>
internal enum ManagementStatus
{
    /// <summary>Done.</summary>
    Ok = 200,

    /// <summary>Started; it goes on in the background.</summary>
    Accepted = 202,

    /// <summary>A parameter, the URL, the archive or its settings are wrong.</summary>
    BadRequest = 400,

    /// <summary>Not allowed in the model's state (the default version while others remain).</summary>
    Forbidden = 403,

    /// <summary>No such model, version or archive.</summary>
    NotFound = 404,

    /// <summary>Registering and unregistering are off (<c>enable_model_api</c>).</summary>
    MethodNotAllowed = 405,

    /// <summary>The name already serves that version.</summary>
    Conflict = 409,

    /// <summary>The workers failed to start.</summary>
    InternalServerError = 500,
}

/// <summary>
/// What a management operation answered, in no protocol's form: a status message
/// (<c>{"status": ...}</c> in REST, <c>msg</c> in gRPC), a JSON document (list, describe), or an
/// error with TorchServe's exception name (<c>{"code", "type", "message"}</c> in REST).
/// </summary>
internal sealed record ManagementAnswer(ManagementStatus Status, string Message, string? ErrorType = null, string? Json = null)
{
    /// <summary>True when the operation was refused or failed.</summary>
    public bool IsError => ErrorType is not null;

    /// <summary>A status message.</summary>
    public static ManagementAnswer Done(ManagementStatus status, string message) => new(status, message);

    /// <summary>A JSON document (list, describe).</summary>
    public static ManagementAnswer Document(string json) => new(ManagementStatus.Ok, json, Json: json);

    /// <summary>An error, with TorchServe's exception name as its type.</summary>
    public static ManagementAnswer Error(ManagementStatus status, string type, string message) => new(status, message, type);
}

/// <summary>
/// TorchServe's management operations (register, list, describe, scale, unregister, set-default)
/// with its rules and messages, for any protocol: the REST adapter (<see cref="ManagementHttp"/>)
/// parses a query string into these calls, a gRPC adapter its messages. Parameters are already
/// parsed: null means "not given", and the defaults are TorchServe's.
/// </summary>
internal sealed class ModelManagement(ModelManager models, TorchServeConfig config, ModelProvisioning provisioning)
{
    /// <summary>A page holds at most this many models, as in TorchServe.</summary>
    public const int MaxPageSize = 100;

    /// <summary>TorchServe's <c>runtime</c> values (Manifest.RuntimeType). Handlers here are compiled in, so it changes nothing; another value is refused as there.</summary>
    public static readonly IReadOnlyList<string> Runtimes = ["python", "python3", "LSP"];

    private ModelRegistrations Registrations => provisioning.Registrations;

    /// <summary>TorchServe's register: the archive at <paramref name="url"/>, loaded at once or (not <paramref name="synchronous"/>) in the background.</summary>
    public async Task<ManagementAnswer> RegisterAsync(string? url, ModelRequest request, bool synchronous, string? runtime, CancellationToken cancellationToken)
    {
        if (!config.EnableModelApi)
        {
            return ModelApiDisabled();
        }
        if (runtime is not null && !Runtimes.Contains(runtime))
        {
            return BadRequest($"Invalid RuntimeType value: {runtime} (runtime is {string.Join(", ", Runtimes)}).");
        }
        ServedModel model;
        try
        {
            model = await provisioning.RegisterAsync(models, url ?? "", request, synchronous, cancellationToken).ConfigureAwait(false);
        }
        catch (ProvisioningException e)
        {
            return e.Failure switch
            {
                ProvisioningFailure.NotFound => ManagementAnswer.Error(ManagementStatus.NotFound, "ModelNotFoundException", e.Message),
                ProvisioningFailure.Conflict => ManagementAnswer.Error(ManagementStatus.Conflict, "ConflictStatusException", e.Message),
                ProvisioningFailure.WorkersFailed => ManagementAnswer.Error(ManagementStatus.InternalServerError, "InternalServerException", e.Message),
                _ => BadRequest(e.Message),
            };
        }
        if (!synchronous)
        {
            return ManagementAnswer.Done(ManagementStatus.Accepted, "Processing worker updates...");
        }
        return ManagementAnswer.Done(ManagementStatus.Ok, model.WorkerCount == 0
            ? $"Model \"{model.Name}\" Version: {model.Version} registered with 0 initial workers. Use scale workers API to add workers for the model."
            : $"Model \"{model.Name}\" Version: {model.Version} registered with {model.WorkerCount} initial workers");
    }

    /// <summary>
    /// The default version of each name, and the models that failed at start, by name, a page at a
    /// time. As TorchServe's getModelList: a limit outside 1-100 is 100, a negative token 0.
    /// </summary>
    public ManagementAnswer List(int? limit, int? nextPageToken)
    {
        var size = limit is >= 1 and <= MaxPageSize ? limit.Value : MaxPageSize;
        var start = Math.Max(0, nextPageToken ?? 0);
        var all = models.Models.Select(m => (m.Name, Url: Registrations.UrlOf(m.Name, m.Version)))
            .Concat(models.Failures.Select(f => (f.Name, Url: Registrations.UrlOf(f.Name))))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToArray();
        return ManagementAnswer.Document(Json(json =>
        {
            json.WriteStartObject();
            if ((long)start + size < all.Length)
            {
                json.WriteString("nextPageToken", (start + size).ToString(CultureInfo.InvariantCulture));
            }
            json.WriteStartArray("models");
            foreach (var (name, url) in all.Skip(start).Take(size))
            {
                json.WriteStartObject();
                json.WriteString("modelName", name);
                json.WriteString("modelUrl", url);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }));
    }

    /// <summary>
    /// TorchServe's describe: an array of one model (the default version, or <paramref name="version"/>)
    /// or of every version (<c>all</c>); a model that failed at start before it could be served is
    /// described by what is known of it, <c>"status": "FAILED"</c> and why.
    /// </summary>
    public ManagementAnswer Describe(string name, string? version)
    {
        if (models.Versions(name).Count == 0 && models.TryGetFailure(name, out var failure))
        {
            return ManagementAnswer.Document(Json(json =>
            {
                json.WriteStartArray();
                ModelDescription.WriteFailure(json, failure, Registrations);
                json.WriteEndArray();
            }));
        }
        IReadOnlyList<ServedModel> described;
        if (version == "all")
        {
            described = models.Versions(name);
            if (described.Count == 0)
            {
                return ModelNotFound(name);
            }
        }
        else if (Find(name, version, out var model) is { } refusal)
        {
            return refusal;
        }
        else
        {
            described = [model!];
        }
        return ManagementAnswer.Document(Json(json =>
        {
            json.WriteStartArray();
            foreach (var one in described)
            {
                ModelDescription.Write(json, one, Registrations);
            }
            json.WriteEndArray();
        }));
    }

    /// <summary>
    /// TorchServe's scale workers: <paramref name="minWorkers"/> (default 1; 0 leaves the model
    /// registered with no worker) and <paramref name="maxWorkers"/> (default min) replace the
    /// bounds of the version named, else of the default; asynchronous (202) unless <paramref name="synchronous"/>.
    /// </summary>
    public async Task<ManagementAnswer> ScaleAsync(string name, string? version, int? minWorkers, int? maxWorkers, bool synchronous, CancellationToken cancellationToken)
    {
        if (Find(name, version, out var model) is { } refusal)
        {
            return refusal;
        }
        var min = minWorkers ?? 1;
        var max = maxWorkers ?? min;
        try
        {
            ServedModel.CheckWorkers(min, max, model!.WorkerLimit);
        }
        catch (ArgumentOutOfRangeException e)
        {
            return BadRequest(e.Message.Split(" (Parameter")[0]);
        }
        if (!synchronous)
        {
            model.ScaleInBackground(min, max);
            return ManagementAnswer.Done(ManagementStatus.Accepted, "Processing worker updates...");
        }
        try
        {
            await model.ScaleAsync(min, max, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelLoadException or ModelStartException)
        {
            return ManagementAnswer.Error(ManagementStatus.InternalServerError, "InternalServerException",
                $"Failed to start workers for model {model.Name} version: {model.Version}: {e.Message}");
        }
        return ManagementAnswer.Done(ManagementStatus.Ok, $"Workers scaled to {min} for model: {model.Name}{(version is null ? "" : $", version: {version}")}");
    }

    /// <summary>
    /// Unregisters one version (the default without one), or a model that failed at start. As in
    /// TorchServe, the default version cannot go while others remain (403); set another default first.
    /// </summary>
    public async Task<ManagementAnswer> UnregisterAsync(string name, string? version, CancellationToken cancellationToken)
    {
        if (!config.EnableModelApi)
        {
            return ModelApiDisabled();
        }
        var removing = version is not null && models.TryGet(name, version, out var asked) ? asked
            : models.TryGet(name, out var byDefault) ? byDefault : null;
        switch (await models.UnregisterAsync(name, version, cancellationToken).ConfigureAwait(false))
        {
            case UnregisterOutcome.ModelNotFound:
                return ModelNotFound(name);
            case UnregisterOutcome.VersionNotFound:
                return VersionNotFound(name, version!);
            case UnregisterOutcome.IsDefaultVersion:
                return ManagementAnswer.Error(ManagementStatus.Forbidden, "InvalidModelVersionException", $"Cannot remove default version for model {name}");
        }
        Registrations.Remove(name, removing?.Version ?? version ?? "", lastVersion: models.Versions(name).Count == 0);
        provisioning.Release(name, removing?.Version ?? version ?? ""); // its unpacked files go with it
        return ManagementAnswer.Done(ManagementStatus.Ok, $"Model \"{name}\" unregistered");
    }

    /// <summary>Makes <paramref name="version"/> the version requests without one go to.</summary>
    public ManagementAnswer SetDefault(string name, string version)
    {
        if (!models.TryGet(name, out _))
        {
            return ModelNotFound(name);
        }
        return models.SetDefault(name, version)
            ? ManagementAnswer.Done(ManagementStatus.Ok, $"Default version successfully updated for model \"{name}\" to \"{version}\"")
            : ManagementAnswer.Error(ManagementStatus.NotFound, "ModelVersionNotFoundException", $"Model version {version} does not exist for model {name}");
    }

    /// <summary>TorchServe's 404 for a model or version not served; null when it is.</summary>
    public ManagementAnswer? Missing(string name, string? version) => Find(name, version, out _);

    /// <summary>The default version, or the one named; null when found, else TorchServe's 404.</summary>
    private ManagementAnswer? Find(string name, string? version, out ServedModel? model)
    {
        if (!models.TryGet(name, out model))
        {
            return ModelNotFound(name);
        }
        if (version is not null && !models.TryGet(name, version, out model))
        {
            return VersionNotFound(name, version);
        }
        return null;
    }

    private static ManagementAnswer ModelNotFound(string name) =>
        ManagementAnswer.Error(ManagementStatus.NotFound, "ModelNotFoundException", $"Model not found: {name}");

    private static ManagementAnswer VersionNotFound(string name, string version) =>
        ManagementAnswer.Error(ManagementStatus.NotFound, "ModelVersionNotFoundException", $"Model version: {version} does not exist for model: {name}");

    private static ManagementAnswer BadRequest(string message) => ManagementAnswer.Error(ManagementStatus.BadRequest, "BadRequestException", message);

    private static ManagementAnswer ModelApiDisabled() =>
        ManagementAnswer.Error(ManagementStatus.MethodNotAllowed, "MethodNotAllowedException",
            "Requested method is not allowed, please refer to API document. (Registering and unregistering models is off; set enable_model_api=true.)");

    /// <summary>A JSON document, indented as TorchServe's are.</summary>
    private static string Json(Action<Utf8JsonWriter> write)
    {
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Indented = true }))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length);
    }
}
