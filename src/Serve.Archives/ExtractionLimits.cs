namespace Serve.Archives;

/// <summary>Bounds on what unpacking one archive may write.</summary>
public sealed record ExtractionLimits
{
    /// <summary>The default bound on the unpacked size: 4 GiB, room for a large language model's weights.</summary>
    public const long DefaultMaxUnpackedBytes = 4L * 1024 * 1024 * 1024;

    /// <summary>The default bound on the number of entries.</summary>
    public const int DefaultMaxEntries = 10_000;

    /// <summary>The most bytes all files together may hold once unpacked (counted as written, not as declared).</summary>
    public long MaxUnpackedBytes { get; init; } = DefaultMaxUnpackedBytes;

    /// <summary>The most files and directories an archive may hold.</summary>
    public int MaxEntries { get; init; } = DefaultMaxEntries;

    /// <summary>The defaults.</summary>
    public static ExtractionLimits Default { get; } = new();
}
