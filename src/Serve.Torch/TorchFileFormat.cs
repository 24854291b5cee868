using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace Serve.Torch;

/// <summary>What a PyTorch model file holds, told by its content: a <c>.pt</c> may be either of the first two.</summary>
public enum TorchFileFormat
{
    /// <summary>Not a format this backend reads.</summary>
    Unknown,

    /// <summary><c>torch.jit.save</c>: a zip with <c>code/</c> and <c>constants.pkl</c>.</summary>
    TorchScript,

    /// <summary><c>torch.save(state_dict)</c>: a zip with <c>data.pkl</c> and <c>data/</c> storages, no code.</summary>
    StateDict,

    /// <summary><c>.safetensors</c>: an 8-byte header length, a JSON header, raw tensor bytes.</summary>
    Safetensors,

    /// <summary><c>torch.save</c> before PyTorch 1.6 (or with <c>_use_new_zipfile_serialization=False</c>): a bare pickle.</summary>
    LegacyPickle,

    /// <summary>A shared library: AOTInductor's compiled model (<c>torch._export.aot_compile</c>).</summary>
    SharedLibrary,
}

public static class TorchFileFormats
{
    /// <summary>Reads the start (and, for a zip, the entry names) of a file to tell its format.</summary>
    public static TorchFileFormat Detect(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> head = stackalloc byte[16];
        var read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (head.StartsWith("PK\u0003\u0004"u8))
        {
            stream.Position = 0;
            return DetectZip(stream);
        }
        if (head.StartsWith("\u007fELF"u8))
        {
            return TorchFileFormat.SharedLibrary;
        }
        if (head.Length >= 2 && head[0] == 0x80 && head[1] <= 5)
        {
            return TorchFileFormat.LegacyPickle;
        }
        if (head.Length >= 9 && head[8] == (byte)'{')
        {
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (headerLength >= 2 && headerLength <= (ulong)stream.Length - 8)
            {
                return TorchFileFormat.Safetensors;
            }
        }
        return TorchFileFormat.Unknown;
    }

    private static TorchFileFormat DetectZip(Stream stream)
    {
        try
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            var hasData = false;
            foreach (var entry in zip.Entries)
            {
                // Entries sit under one top folder named after the file: "tiny/code/__torch__.py".
                var name = entry.FullName;
                if (name.EndsWith("/constants.pkl", StringComparison.Ordinal) || name.Contains("/code/", StringComparison.Ordinal))
                {
                    return TorchFileFormat.TorchScript;
                }
                hasData |= name.EndsWith("/data.pkl", StringComparison.Ordinal) || name == "data.pkl";
            }
            return hasData ? TorchFileFormat.StateDict : TorchFileFormat.Unknown;
        }
        catch (InvalidDataException)
        {
            return TorchFileFormat.Unknown;
        }
    }
}
