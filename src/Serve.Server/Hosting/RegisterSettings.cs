using System;
using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// How TorchServe combines its register parameters with the archive's model-config.yaml
/// (wlm/ModelManager.createModel and util/ApiUtils.handleRegister): <c>batch_size</c> and
/// <c>max_batch_delay</c> win over the archive; the archive's responseTimeout and startupTimeout
/// (their default 120 included) win over <c>response_timeout</c> and <c>startup_timeout</c>, which
/// act only on an archive without a model-config; an archive that sets minWorkers (with maxWorkers no smaller) wins over
/// <c>initial_workers</c>, which otherwise sets both bounds (0 included: registered, no worker until scaled up).
/// Without <c>initial_workers</c>, an archive's <c>minWorkers: 0</c> still starts one worker.
/// config.properties' <c>job_queue_size</c> sizes the queue of a model whose model-config does not
/// set jobQueueSize (wlm/Model's constructor).
/// Where neither says, the model gets the default worker count (<see cref="ThreadBudget.DefaultWorkers"/>),
/// as TorchServe's models do at startup.
/// </summary>
internal static class RegisterSettings
{
    /// <param name="options">What registration asked for.</param>
    /// <param name="archive">The archive's model-config (defaults when it has none).</param>
    /// <param name="archiveKeys">The keys the archive's model-config.yaml sets; null when it has none.</param>
    /// <param name="defaultWorkers">The workers when neither registration nor the archive says.</param>
    public static ModelConfig Apply(ModelOptions options, ModelConfig archive, IReadOnlySet<string>? archiveKeys, int defaultWorkers = 1)
    {
        var config = archive with
        {
            BatchSize = options.BatchSize ?? archive.BatchSize,
            MaxBatchDelay = options.MaxBatchDelay ?? archive.MaxBatchDelay,
            ResponseTimeout = archiveKeys is null && options.ResponseTimeout is { } response ? response : archive.ResponseTimeout,
            StartupTimeout = archiveKeys is null && options.StartupTimeout is { } startup ? startup : archive.StartupTimeout,
            JobQueueSize = archiveKeys?.Contains("jobQueueSize") != true && options.JobQueueSize is { } queue ? queue : archive.JobQueueSize,
        };
        var archiveSetsWorkers = archiveKeys is not null && archiveKeys.Contains("minWorkers") && archive.MinWorkers > 0 && archive.MaxWorkers >= archive.MinWorkers;
        if (options.InitialWorkers is { } workers && !archiveSetsWorkers)
        {
            config = config with { MinWorkers = workers, MaxWorkers = workers };
        }
        else if (options.InitialWorkers is null && (archiveKeys is null || !(archiveKeys.Contains("minWorkers") || archiveKeys.Contains("maxWorkers"))))
        {
            config = config with { MinWorkers = defaultWorkers, MaxWorkers = defaultWorkers };
        }
        else if (config.MinWorkers < 1)
        {
            config = config with { MinWorkers = 1, MaxWorkers = Math.Max(1, config.MaxWorkers) };
        }
        return config;
    }
}
