using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Serve.Archives;
using Serve.Runtime;
using Serve.Server;
using Serve.TorchServe.Http;

namespace Serve.TorchServe;

/// <summary>
/// TorchServe's register parameters beyond the archive; null where the caller gave none.
/// </summary>
/// <param name="ModelName">Serve the archive under this name instead of its manifest's.</param>
/// <param name="Handler">Use this handler instead of the manifest's (a handler file form names its stem).</param>
/// <param name="BatchSize">batch_size, which wins over the archive's model-config.</param>
/// <param name="MaxBatchDelay">max_batch_delay, which wins over the archive's model-config.</param>
/// <param name="ResponseTimeout">response_timeout; else config.properties' default_response_timeout.</param>
/// <param name="StartupTimeout">startup_timeout.</param>
/// <param name="InitialWorkers">initial_workers; else config.properties' default_workers_per_model.</param>
internal sealed record ModelRequest(
    string? ModelName = null,
    string? Handler = null,
    int? BatchSize = null,
    int? MaxBatchDelay = null,
    int? ResponseTimeout = null,
    int? StartupTimeout = null,
    int? InitialWorkers = null);

/// <summary>Why a registration was refused, as the management API tells it.</summary>
internal enum ProvisioningFailure
{
    /// <summary>The URL, download, archive, handler or settings are wrong (400).</summary>
    Refused,

    /// <summary>Nothing is at the URL (404).</summary>
    NotFound,

    /// <summary>The name already serves that version (409).</summary>
    Conflict,

    /// <summary>The workers did not start in time (startup_timeout): TorchServe's 500 "Failed to start workers".</summary>
    WorkersFailed,
}

/// <summary>A registration refused: why, and a message for the operator.</summary>
internal sealed class ProvisioningException(ProvisioningFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Why the registration was refused.</summary>
    public ProvisioningFailure Failure { get; } = failure;
}

/// <summary>
/// The one place that turns a model archive (a .mar, .tar.gz, unpacked directory or URL) into a
/// served model: it unpacks each into a directory of its own, takes the name from the manifest
/// unless the caller gives one, applies config.properties' defaults where the request is silent
/// (as TorchServe's initModelStore and register do), and records where the model came from.
/// The manifest's handler and model-config are read by <see cref="ModelDirectory"/>, the same
/// for every load path. Used by startup (<see cref="TorchServeHost"/>) and register (<see cref="ManagementHttp"/>).
/// Disk comes back on every path: a registration's directory (and its download) is deleted when
/// the registration fails at any step (refused URL, failed download, broken archive, 409, failed
/// load), and a served model's when it is unregistered (<see cref="Release"/>).
/// </summary>
internal sealed class ModelProvisioning
{
    private readonly TorchServeConfig _config;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Name, string Version), string> _directories = new();

    /// <param name="config">The settings: limits, allowed URLs, the model store and the defaults.</param>
    /// <param name="workDirectory">Where archives are unpacked while the server runs.</param>
    /// <param name="registrations">Where each served model came from, for list and describe.</param>
    public ModelProvisioning(TorchServeConfig config, string workDirectory, ModelRegistrations registrations)
    {
        _config = config;
        WorkDirectory = workDirectory;
        Registrations = registrations;
    }

    /// <summary>Where archives are unpacked while the server runs.</summary>
    public string WorkDirectory { get; }

    /// <summary>Where each served model came from.</summary>
    public ModelRegistrations Registrations { get; }

    /// <summary>
    /// Unpacks the archives to serve from the start, telling <paramref name="progress"/> as it
    /// goes, and returns their options for <see cref="ServeOptions.Models"/>. An archive that
    /// cannot be unpacked does not stop the others: its options carry the reason
    /// (<see cref="ModelOptions.Failure"/>) and the model manager reports it as failed.
    /// </summary>
    public IReadOnlyList<ModelOptions> Start(IReadOnlyList<ModelToLoad> models, TextWriter progress)
    {
        var start = new List<ModelOptions>(models.Count);
        foreach (var model in models)
        {
            var file = Path.GetFileName(model.Path);
            var directory = NewDirectory();
            ModelOptions options;
            try
            {
                var archive = Unpack(model.Path, directory, progress);
                options = Options(archive, new ModelRequest(ModelName: model.Name));
                Own(options.Name, archive.Manifest.ModelVersion, directory);
            }
            catch (ModelArchiveException e)
            {
                progress.WriteLine($"{file} cannot be served: {e.Message}");
                options = new ModelOptions { Name = model.Name ?? ArchiveStem(file), Path = model.Path, Failure = e.Message };
            }
            Registrations.Add(options.Name, file, loadedAtStartup: true);
            start.Add(options);
        }
        return start;
    }

    /// <summary>The name a broken archive is reported under: its file name without .mar, .tar.gz or .tgz.</summary>
    private static string ArchiveStem(string file) =>
        file.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ? file[..^7] : Path.GetFileNameWithoutExtension(file);

    /// <summary>
    /// TorchServe's register: checks <paramref name="url"/> against allowed_urls and the model
    /// store, downloads it when remote, unpacks it, and loads it (at once, or in the background
    /// when not <paramref name="synchronous"/>).
    /// </summary>
    /// <exception cref="ProvisioningException">The registration is refused; <see cref="ProvisioningException.Failure"/> says why.</exception>
    public async Task<ServedModel> RegisterAsync(ModelManager models, string url, ModelRequest request, bool synchronous, CancellationToken cancellationToken)
    {
        ModelSource source;
        try
        {
            source = new ModelUrlPolicy(_config.AllowedUrls, _config.ModelStore).Check(url);
        }
        catch (ModelUrlRefusedException e)
        {
            throw new ProvisioningException(ProvisioningFailure.Refused, e.Message, e);
        }
        var directory = NewDirectory();
        try
        {
            var model = await RegisterAsync(models, url, source, directory, request, synchronous, cancellationToken).ConfigureAwait(false);
            Own(model.Name, model.Version, directory);
            return model;
        }
        catch
        {
            Delete(directory);
            throw;
        }
    }

    /// <summary>
    /// Deletes the directory that <paramref name="name"/> <paramref name="version"/> was unpacked
    /// into, once it is unregistered; nothing for a model served from a directory in place.
    /// </summary>
    public void Release(string name, string version)
    {
        if (_directories.TryRemove((name, version), out var directory))
        {
            Delete(directory);
        }
    }

    private async Task<ServedModel> RegisterAsync(ModelManager models, string url, ModelSource source, string directory, ModelRequest request, bool synchronous, CancellationToken cancellationToken)
    {
        var location = source.Location;
        if (source.IsRemote)
        {
            try
            {
                location = await ArchiveDownload.FetchAsync(url, Path.Combine(directory, "download"), _config.MaxArchiveUnpackedSize, source.PublicAddressesOnly, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ModelArchiveException or HttpRequestException)
            {
                throw new ProvisioningException(ProvisioningFailure.Refused, e is HttpRequestException ? $"Downloading '{url}' failed: {e.Message}" : e.Message, e);
            }
        }
        if (!File.Exists(location) && !Directory.Exists(location))
        {
            throw new ProvisioningException(ProvisioningFailure.NotFound, $"Model not found at: {url}");
        }

        UnpackedArchive archive;
        try
        {
            archive = ModelArchiveReader.Open(location, directory, _config.ExtractionLimits);
        }
        catch (ModelArchiveException e)
        {
            throw new ProvisioningException(ProvisioningFailure.Refused, e.Message, e);
        }
        finally
        {
            if (source.IsRemote)
            {
                Delete(Path.GetDirectoryName(location)!); // unpacked now: the download is not needed
            }
        }
        var options = Options(archive, request);
        if (models.TryGet(options.Name, archive.Manifest.ModelVersion, out _))
        {
            throw new ProvisioningException(ProvisioningFailure.Conflict, $"Model version {archive.Manifest.ModelVersion} is already registered for model {options.Name}");
        }

        ServedModel model;
        try
        {
            model = synchronous
                ? await models.LoadAsync(options, cancellationToken).ConfigureAwait(false)
                : models.LoadInBackground(options);
        }
        catch (ModelLoadException e)
        {
            throw new ProvisioningException(ProvisioningFailure.Refused, e.Message, e);
        }
        catch (ModelStartException e)
        {
            throw new ProvisioningException(ProvisioningFailure.WorkersFailed,
                $"Failed to start workers for model {options.Name} version: {archive.Manifest.ModelVersion}: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new ProvisioningException(ProvisioningFailure.Conflict, e.Message, e);
        }
        Registrations.Add(options.Name, model.Version, url);
        return model;
    }

    /// <summary>
    /// The options a model is served with: the manifest's name unless the request gives one, the
    /// request's handler if any (else <see cref="ModelDirectory"/> takes the manifest's), and
    /// config.properties' default_response_timeout, default_workers_per_model and job_queue_size
    /// where the request is silent; the archive's model-config still wins where TorchServe lets it (<see cref="ModelManager"/>).
    /// </summary>
    public ModelOptions Options(UnpackedArchive archive, ModelRequest request) => new()
    {
        Name = request.ModelName ?? archive.Manifest.ModelName,
        Path = archive.Directory,
        Handler = request.Handler,
        BatchSize = request.BatchSize,
        MaxBatchDelay = request.MaxBatchDelay,
        ResponseTimeout = request.ResponseTimeout ?? _config.DefaultResponseTimeout,
        StartupTimeout = request.StartupTimeout,
        InitialWorkers = request.InitialWorkers ?? (_config.DefaultWorkersPerModel is > 0 and var workers ? workers : null),
        JobQueueSize = _config.JobQueueSize,
    };

    /// <summary>Opens a model directory in place, or unpacks an archive file into a fresh directory, telling <paramref name="progress"/> as it goes.</summary>
    /// <exception cref="ModelArchiveException">The archive cannot be opened.</exception>
    public UnpackedArchive Unpack(string path, TextWriter? progress = null) => Unpack(path, NewDirectory(), progress);

    private UnpackedArchive Unpack(string path, string directory, TextWriter? progress)
    {
        if (progress is null || Directory.Exists(path))
        {
            return ModelArchiveReader.Open(path, directory, _config.ExtractionLimits);
        }
        var file = Path.GetFileName(path);
        var total = ModelArchiveReader.DeclaredUnpackedSize(path);
        var of = total is { } bytes ? $" of {Megabytes(bytes)} MB" : "";
        progress.WriteLine($"Unpacking {file}{(total is null ? "" : $" ({Megabytes(total.Value)} MB)")} ...");
        var started = Stopwatch.GetTimestamp();
        var lastReported = 0L;
        var written = 0L;
        var archive = ModelArchiveReader.Open(path, directory, _config.ExtractionLimits, new InlineProgress(bytes =>
        {
            written = bytes;
            if (bytes - lastReported >= 64L << 20)
            {
                lastReported = bytes;
                progress.WriteLine($"  {file}: {Megabytes(bytes)}{of} MB unpacked");
            }
        }));
        if (written > 0)
        {
            progress.WriteLine($"Unpacked {file}: {Megabytes(written)} MB in {(long)Stopwatch.GetElapsedTime(started).TotalMilliseconds} ms");
        }
        return archive;
    }

    // A directory of its own for each archive: unpacking must never replace the files of a model being served.
    private string NewDirectory() => Path.Combine(WorkDirectory, Guid.NewGuid().ToString("N"));

    // Only a directory unpacking made is the model's to delete: a model directory opened in place stays.
    private void Own(string name, string version, string directory)
    {
        if (Directory.Exists(directory))
        {
            _directories[(name, version)] = directory;
        }
    }

    private static void Delete(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.#", CultureInfo.InvariantCulture);

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
