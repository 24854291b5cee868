using System;
using System.Globalization;
using System.Text.Json;
using Serve.Server;

namespace Serve.TorchServe.Http;

/// <summary>
/// One model version as TorchServe's describe writes it (http/messages/DescribeModelResponse),
/// plus the model's status and each worker's device. Workers are threads of this process, so
/// each worker's <c>pid</c> is the server's and its <c>memoryUsage</c> the process's working set.
/// </summary>
internal static class ModelDescription
{
    public static void Write(Utf8JsonWriter json, ServedModel model, ModelRegistrations registrations)
    {
        json.WriteStartObject();
        json.WriteString("modelName", model.Name);
        json.WriteString("modelVersion", model.Version);
        json.WriteString("modelUrl", registrations.UrlOf(model.Name, model.Version));
        json.WriteString("runtime", model.Manifest.Runtime);
        json.WriteNumber("minWorkers", model.MinWorkers);
        json.WriteNumber("maxWorkers", model.MaxWorkers);
        json.WriteNumber("batchSize", model.Config.BatchSize);
        json.WriteNumber("maxBatchDelay", model.Config.MaxBatchDelay);
        json.WriteNumber("responseTimeout", model.Config.ResponseTimeout);
        json.WriteNumber("startupTimeout", model.Config.StartupTimeout);
        if (model.Config.DeviceType is { } deviceType)
        {
            json.WriteString("deviceType", deviceType);
        }
        // Ours: LOADING while a background registration starts workers, READY, or FAILED with the reason.
        json.WriteString("status", model.Status.ToString().ToUpperInvariant());
        if (model.Error is { } error)
        {
            json.WriteString("error", error);
        }
        json.WriteBoolean("loadedAtStartup", registrations.LoadedAtStartup(model.Name));
        json.WriteStartArray("workers");
        var memory = Environment.WorkingSet;
        foreach (var worker in model.Workers)
        {
            json.WriteStartObject();
            json.WriteString("id", worker.Id.ToString(CultureInfo.InvariantCulture));
            json.WriteString("startTime", worker.StartTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("status", worker.Status);
            json.WriteNumber("memoryUsage", memory);
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteBoolean("gpu", worker.Device?.StartsWith("cuda", StringComparison.Ordinal) == true);
            // GPU utilization is not measured here (no GPU metrics yet): TorchServe's "N/A".
            json.WriteString("gpuUsage", "N/A");
            if (worker.Device is { } device)
            {
                json.WriteString("device", device);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartObject("jobQueueStatus");
        json.WriteNumber("remainingCapacity", Math.Max(0, model.Config.JobQueueSize - model.QueueLength));
        json.WriteNumber("pendingRequests", model.QueueLength);
        json.WriteEndObject();
        // Ours: the model's loaded copies (one per device, shared by its workers, where the backend
        // allows) with the resident memory each added at load; modelLoads counts loads over its life.
        json.WriteNumber("modelLoads", model.Copies.Loads);
        json.WriteStartArray("modelCopies");
        foreach (var copy in model.Copies.Describe())
        {
            json.WriteStartObject();
            json.WriteString("device", copy.Device);
            json.WriteString("backend", copy.Backend);
            json.WriteNumber("holders", copy.Users);
            json.WriteNumber("residentBytes", copy.ResidentBytes);
            json.WriteNumber("fileBytes", copy.FileBytes);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>A model that failed at start before it could be served: its name, what is known, <c>"status": "FAILED"</c> and the reason.</summary>
    public static void WriteFailure(Utf8JsonWriter json, ModelFailure failure, ModelRegistrations registrations)
    {
        json.WriteStartObject();
        json.WriteString("modelName", failure.Name);
        if (failure.Version is { } version)
        {
            json.WriteString("modelVersion", version);
        }
        json.WriteString("modelUrl", registrations.UrlOf(failure.Name));
        json.WriteNumber("minWorkers", 0);
        json.WriteNumber("maxWorkers", 0);
        json.WriteString("status", ModelStatus.Failed.ToString().ToUpperInvariant());
        json.WriteString("error", failure.Reason);
        json.WriteBoolean("loadedAtStartup", registrations.LoadedAtStartup(failure.Name));
        json.WriteStartArray("workers");
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
