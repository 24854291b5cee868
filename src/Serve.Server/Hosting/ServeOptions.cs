using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Server options, bound from the "Serve" configuration section.</summary>
public sealed class ServeOptions
{
    /// <summary>TorchServe's <c>max_request_size</c>: the largest request body accepted, in bytes.</summary>
    public long MaxRequestSize { get; set; } = 6_553_500;

    public const int DefaultMaxFormParts = 64;
    public const int DefaultMaxFormPartHeaderSize = 16 * 1024;

    /// <summary>The most parts a multipart form upload may have.</summary>
    public int MaxFormParts { get; set; } = DefaultMaxFormParts;

    /// <summary>The largest header block of one part of a multipart form upload, in bytes.</summary>
    public int MaxFormPartHeaderSize { get; set; } = DefaultMaxFormPartHeaderSize;

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
}
