using System;
using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Server options, bound from the "Serve" configuration section.</summary>
public sealed class ServeOptions
{
    /// <summary>TorchServe's <c>max_request_size</c>: the largest request body accepted, in bytes.</summary>
    public long MaxRequestSize { get; set; } = 6_553_500;

    /// <summary>
    /// TorchServe's <c>max_response_size</c>: the largest answer a handler may give one request, in
    /// bytes. A larger one fails that request alone (500 naming the limit); the worker goes on.
    /// </summary>
    public long MaxResponseSize { get; set; } = 6_553_500;

    public const int DefaultMaxFormParts = 64;
    public const int DefaultMaxFormPartHeaderSize = 16 * 1024;

    /// <summary>The most parts a multipart form upload may have.</summary>
    public int MaxFormParts { get; set; } = DefaultMaxFormParts;

    /// <summary>The largest header block of one part of a multipart form upload, in bytes.</summary>
    public int MaxFormPartHeaderSize { get; set; } = DefaultMaxFormPartHeaderSize;

    public const int DefaultMaxWorkersPerModel = 64;

    /// <summary>
    /// The most workers one model may run. Each worker is a handler instance of its own; workers
    /// on one device share one copy of the model where the backend allows (ONNX Runtime,
    /// TorchScript), else each loads its own, so an absurd count could exhaust memory;
    /// scaling or registering beyond it is refused with a message naming it.
    /// </summary>
    public int MaxWorkersPerModel { get; set; } = DefaultMaxWorkersPerModel;

    public const int DefaultMaxExplainInstances = 4;

    /// <summary>
    /// The most instances one explanation call may carry. An explanation costs many forward passes
    /// per instance (Captum's integrated gradients: 15 steps each): 64 of them once held a model's
    /// single worker for 17 s. A call over the bound is refused (400) naming it.
    /// </summary>
    public int MaxExplainInstances { get; set; } = DefaultMaxExplainInstances;

    /// <summary>
    /// Explanation calls of one model that may run at once, each on a handler instance of the
    /// model's explanation lane, off its prediction workers; another gets 503 with Retry-After.
    /// With <see cref="MaxExplainInstances"/> this bounds the cores explanations take from predictions.
    /// </summary>
    public int MaxConcurrentExplanations { get; set; } = 1;

    /// <summary>
    /// The longest the server keeps answering after it is told to stop (SIGTERM), each answer with
    /// <c>Connection: close</c>, before it stops listening; it stops sooner once no request has
    /// arrived for 250 ms. A request sent meanwhile is answered, never cut off.
    /// </summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The models to load at startup.</summary>
    public List<ModelOptions> Models { get; set; } = [];
}

/// <summary>One model to serve: a name and an unpacked model directory.</summary>
public sealed class ModelOptions
{
    /// <summary>The name clients use: <c>POST /predictions/{Name}</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// The model directory: an unpacked archive with <c>MAR-INF/MANIFEST.json</c>, or a plain
    /// directory holding the model file (and optionally model-config.yaml).
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>The registered handler's name; defaults to the manifest's, then to <see cref="Name"/>.</summary>
    public string? Handler { get; set; }

    /// <summary>The model file in a directory without a manifest; defaults to its only model file.</summary>
    public string? SerializedFile { get; set; }

    /// <summary>Overrides model-config's batchSize (TorchServe's register parameter <c>batch_size</c>).</summary>
    public int? BatchSize { get; set; }

    /// <summary>Overrides model-config's maxBatchDelay, in ms (<c>max_batch_delay</c>).</summary>
    public int? MaxBatchDelay { get; set; }

    /// <summary>
    /// The response timeout in seconds (<c>response_timeout</c>) for a model directory without a
    /// model-config.yaml; as in TorchServe, a model-config's responseTimeout (default 120) wins.
    /// </summary>
    public int? ResponseTimeout { get; set; }

    /// <summary>The startup timeout in seconds (<c>startup_timeout</c>), with the same precedence as <see cref="ResponseTimeout"/>.</summary>
    public int? StartupTimeout { get; set; }

    /// <summary>
    /// The workers to start (<c>initial_workers</c>), which become minWorkers and maxWorkers; as in
    /// TorchServe, a model-config that sets minWorkers (and maxWorkers no smaller) wins.
    /// </summary>
    public int? InitialWorkers { get; set; }

    /// <summary>
    /// The queue size (config.properties' <c>job_queue_size</c>) for a model whose model-config
    /// does not set jobQueueSize; as in TorchServe, the model-config's value wins.
    /// </summary>
    public int? JobQueueSize { get; set; }

    /// <summary>
    /// Why the model could not be made ready for loading (an archive that failed to unpack): the
    /// manager then reports it as failed, with this reason, instead of loading it.
    /// </summary>
    public string? Failure { get; set; }
}
