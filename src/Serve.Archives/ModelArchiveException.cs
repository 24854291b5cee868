using System;

namespace Serve.Archives;

/// <summary>
/// An archive that cannot be read or written: broken, unsafe (a path that leaves the target,
/// a link), too large unpacked, or without a manifest. The message names the archive and why.
/// </summary>
public sealed class ModelArchiveException : Exception
{
    /// <summary>Creates the exception with a message that names the archive and the reason.</summary>
    public ModelArchiveException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public ModelArchiveException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
