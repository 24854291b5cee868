namespace Serve.Archives;

/// <summary>Bounds on what unpacking one archive may write.</summary>
public sealed record ExtractionLimits
{
    /// <summary>The default bound on the unpacked size: 4 GiB, room for a large language model's weights.</summary>
    public const long DefaultMaxUnpackedBytes = 4L * 1024 * 1024 * 1024;

    /// <summary>The default bound on the number of entries.</summary>
    public const int DefaultMaxEntries = 10_000;

    /// <summary>The default bound on unpacked bytes per archive byte: model weights barely compress (about 1.1), text about 4.</summary>
    public const int DefaultMaxCompressionRatio = 100;

    /// <summary>Below this many unpacked bytes the ratio is not checked: small, highly compressible archives are harmless.</summary>
    public const long RatioExemptBytes = 64L * 1024 * 1024;

    /// <summary>The most unpacked bytes per byte of the archive file, once past <see cref="RatioExemptBytes"/> (an archive bomb: 1 MB holding a 1 GB pad).</summary>
    public int MaxCompressionRatio { get; init; } = DefaultMaxCompressionRatio;

    /// <summary>The most bytes all files together may hold once unpacked (counted as written, not as declared).</summary>
    public long MaxUnpackedBytes { get; init; } = DefaultMaxUnpackedBytes;

    /// <summary>The most files and directories an archive may hold.</summary>
    public int MaxEntries { get; init; } = DefaultMaxEntries;

    /// <summary>The defaults.</summary>
    public static ExtractionLimits Default { get; } = new();
}
