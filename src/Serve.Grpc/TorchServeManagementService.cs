using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Management;
using Serve.Runtime;
using Serve.Server;
using Serve.TorchServe;
using Serve.TorchServe.Http;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's gRPC management API (management.proto). Each call does what the REST management
/// API does and answers its message (<c>msg</c>: the same JSON or status text), or fails with the
/// REST API's message and the status for its HTTP code (<see cref="GrpcErrors"/>). As in
/// TorchServe's ManagementImpl, a number left 0 (proto3's "not set") takes its default.
/// </summary>
internal sealed class TorchServeManagementService(ModelManager models, TorchServeConfig config, ModelProvisioning provisioning)
    : ManagementAPIsService.ManagementAPIsServiceBase
{
    private ModelRegistrations Registrations => provisioning.Registrations;

    /// <summary>
    /// describe's JSON array: the default version, the one named, or every version (<c>all</c>).
    /// <c>customized</c> asks TorchServe's handler for its own metadata; handlers here have none,
    /// so the answer is the same.
    /// </summary>
    public override Task<ManagementResponse> DescribeModel(DescribeModelRequest request, ServerCallContext context)
    {
        var name = Required(request.ModelName, "model_name");
        if (models.Versions(name).Count == 0 && models.TryGetFailure(name, out var failure))
        {
            // Failed at start, before it could be served: what is known of it, and why (as REST's describe).
            return Answer(Json(json =>
            {
                json.WriteStartArray();
                ModelDescription.WriteFailure(json, failure, Registrations);
                json.WriteEndArray();
            }));
        }
        IReadOnlyList<ServedModel> described = request.ModelVersion == "all" ? models.Versions(name) : [Find(name, request.ModelVersion)];
        if (described.Count == 0)
        {
            throw GrpcErrors.NotFound($"Model not found: {name}");
        }
        return Answer(Json(json =>
        {
            json.WriteStartArray();
            foreach (var model in described)
            {
                ModelDescription.Write(json, model, Registrations);
            }
            json.WriteEndArray();
        }));
    }

    /// <summary>REST's list (the default version of each name and the models that failed at start), a page at a time; a limit of 0 takes 100.</summary>
    public override Task<ManagementResponse> ListModels(ListModelsRequest request, ServerCallContext context) =>
        Answer(Json(json =>
        {
            json.WriteStartObject();
            ModelList.Write(json, models, Registrations, request.Limit == 0 ? null : request.Limit, request.NextPageToken);
            json.WriteEndObject();
        }));

    /// <summary>Registers an archive from <c>url</c> as REST's <c>POST /models</c> does (<see cref="ModelProvisioning"/>: enable_model_api, allowed_urls, limits).</summary>
    public override async Task<ManagementResponse> RegisterModel(RegisterModelRequest request, ServerCallContext context)
    {
        ModelApiEnabled();
        var url = Required(request.Url, "url");
        if (request.Runtime.Length > 0 && request.Runtime is not ("python" or "python3" or "LSP"))
        {
            throw GrpcErrors.InvalidArgument($"Invalid RuntimeType value: {request.Runtime} (runtime is python, python3 or LSP).");
        }
        var settings = new ModelRequest(
            ModelName: request.ModelName.Length > 0 ? request.ModelName : null,
            Handler: request.Handler.Length > 0 ? request.Handler : null,
            BatchSize: Positive(request.BatchSize),
            MaxBatchDelay: Positive(request.MaxBatchDelay),
            ResponseTimeout: Positive(request.ResponseTimeout),
            InitialWorkers: Positive(request.InitialWorkers));
        ServedModel model;
        try
        {
            model = await provisioning.RegisterAsync(models, url, settings, request.Synchronous, context.CancellationToken).ConfigureAwait(false);
        }
        catch (ProvisioningException e)
        {
            throw GrpcErrors.Failure(e.Failure switch
            {
                ProvisioningFailure.NotFound => 404,
                ProvisioningFailure.Conflict => 409,
                ProvisioningFailure.WorkersFailed => 500,
                _ => 400,
            }, e.Message);
        }
        return await Answer(!request.Synchronous ? "Processing worker updates..."
            : model.WorkerCount == 0 ? $"Model \"{model.Name}\" Version: {model.Version} registered with 0 initial workers. Use scale workers API to add workers for the model."
            : $"Model \"{model.Name}\" Version: {model.Version} registered with {model.WorkerCount} initial workers").ConfigureAwait(false);
    }

    /// <summary>REST's <c>PUT /models/{m}[/{v}]</c>: min_worker (0 takes 1), max_worker (0 takes min_worker); asynchronous unless <c>synchronous</c>.</summary>
    public override async Task<ManagementResponse> ScaleWorker(ScaleWorkerRequest request, ServerCallContext context)
    {
        var model = Find(Required(request.ModelName, "model_name"), request.ModelVersion);
        if (request.MinWorker < 0 || request.MaxWorker < 0)
        {
            throw GrpcErrors.InvalidArgument($"min_worker ({request.MinWorker}) and max_worker ({request.MaxWorker}) must not be negative.");
        }
        var minWorkers = request.MinWorker > 0 ? request.MinWorker : 1;
        var maxWorkers = request.MaxWorker > 0 ? request.MaxWorker : minWorkers;
        try
        {
            ServedModel.CheckWorkers(minWorkers, maxWorkers, model.WorkerLimit);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw GrpcErrors.InvalidArgument(e.Message.Split(" (Parameter")[0]);
        }
        if (!request.Synchronous)
        {
            model.ScaleInBackground(minWorkers, maxWorkers);
            return await Answer("Processing worker updates...").ConfigureAwait(false);
        }
        try
        {
            await model.ScaleAsync(minWorkers, maxWorkers, context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ModelLoadException or ModelStartException)
        {
            throw GrpcErrors.Failure(500, $"Failed to start workers for model {model.Name} version: {model.Version}: {e.Message}");
        }
        var version = request.ModelVersion.Length > 0 ? $", version: {request.ModelVersion}" : "";
        return await Answer($"Workers scaled to {minWorkers} for model: {model.Name}{version}").ConfigureAwait(false);
    }

    public override Task<ManagementResponse> SetDefault(SetDefaultRequest request, ServerCallContext context)
    {
        var name = Required(request.ModelName, "model_name");
        var version = Required(request.ModelVersion, "model_version");
        if (!models.TryGet(name, out _))
        {
            throw GrpcErrors.NotFound($"Model not found: {name}");
        }
        return models.SetDefault(name, version)
            ? Answer($"Default version successfully updated for model \"{name}\" to \"{version}\"")
            : throw GrpcErrors.NotFound($"Model version {version} does not exist for model {name}");
    }

    /// <summary>One version (the default without one); the default cannot go while others remain (PERMISSION_DENIED, REST's 403).</summary>
    public override async Task<ManagementResponse> UnregisterModel(UnregisterModelRequest request, ServerCallContext context)
    {
        ModelApiEnabled();
        var name = Required(request.ModelName, "model_name");
        var version = request.ModelVersion.Length > 0 ? request.ModelVersion : null;
        var removing = models.TryGet(name, version, out var found) ? found : null;
        switch (await models.UnregisterAsync(name, version, context.CancellationToken).ConfigureAwait(false))
        {
            case UnregisterOutcome.ModelNotFound:
                throw GrpcErrors.NotFound($"Model not found: {name}");
            case UnregisterOutcome.VersionNotFound:
                throw GrpcErrors.NotFound($"Model version: {version} does not exist for model: {name}");
            case UnregisterOutcome.IsDefaultVersion:
                throw GrpcErrors.Failure(403, $"Cannot remove default version for model {name}");
        }
        Registrations.Remove(name, removing?.Version ?? version ?? "", lastVersion: models.Versions(name).Count == 0);
        return await Answer($"Model \"{name}\" unregistered").ConfigureAwait(false);
    }

    private ServedModel Find(string name, string version)
    {
        if (!models.TryGet(name, out var model))
        {
            throw GrpcErrors.NotFound($"Model not found: {name}");
        }
        if (version.Length > 0 && !models.TryGet(name, version, out model))
        {
            throw GrpcErrors.NotFound($"Model version: {version} does not exist for model: {name}");
        }
        return model;
    }

    /// <summary>Registering and unregistering are off unless enable_model_api=true, as over REST (405 there).</summary>
    private void ModelApiEnabled()
    {
        if (!config.EnableModelApi)
        {
            throw GrpcErrors.Failure(405, "Registering and unregistering models is off; set enable_model_api=true.");
        }
    }

    private static string Required(string value, string parameter) =>
        value.Length > 0 ? value : throw GrpcErrors.InvalidArgument($"Parameter {parameter} is required.");

    private static int? Positive(int value) => value > 0 ? value : null;

    private static Task<ManagementResponse> Answer(string message) => Task.FromResult(new ManagementResponse { Msg = message });

    /// <summary>Indented, as TorchServe's (and the REST API's) answers are.</summary>
    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            write(json);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
