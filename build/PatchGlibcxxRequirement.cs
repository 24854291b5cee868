// An MSBuild task (compiled by RoslynCodeTaskFactory, see LibTorchSharpGlibcxx.targets).
// TorchSharp 0.107's libLibTorchSharp.so asks for GLIBCXX_3.4.32 (GCC 13's C++ runtime) for one
// symbol, _ZSt21ios_base_library_initv, which it never relocates. Debian 12 and Ubuntu 22.04 ship
// GLIBCXX_3.4.30, so the dynamic loader refuses the library. Marking that one version
// requirement weak (VER_FLG_WEAK in the vna_flags of its Vernaux entry in .gnu.version_r) lets
// the loader accept the library, which then runs: the symbol is unused.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class PatchGlibcxxRequirement : Task
{
    private const uint SectionTypeVerneed = 0x6ffffffe; // SHT_GNU_verneed
    private const ushort WeakVersion = 0x2;             // VER_FLG_WEAK

    /// <summary>The output copies of the library to patch (never the package cache's).</summary>
    [Required]
    public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version requirement to make weak.</summary>
    [Required]
    public string Version { get; set; } = "";

    /// <summary>Where the system's C++ runtime may be; the first that exists is checked for <see cref="Version"/>.</summary>
    public ITaskItem[] SystemRuntimes { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        foreach (var runtime in SystemRuntimes)
        {
            if (File.Exists(runtime.ItemSpec))
            {
                // Version names are plain text in the library's .dynstr.
                if (Encoding.ASCII.GetString(File.ReadAllBytes(runtime.ItemSpec)).Contains(Version + "\0"))
                {
                    Log.LogMessage(MessageImportance.Normal, $"{runtime.ItemSpec} provides {Version}: libLibTorchSharp.so needs no patch.");
                    return true;
                }
                break;
            }
        }
        foreach (var library in Libraries)
        {
            var path = library.ItemSpec;
            try
            {
                var result = Patch(path, Version);
                Log.LogMessage(MessageImportance.High, $"{path}: {result}");
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Log.LogError($"Cannot patch the {Version} requirement of '{path}': {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>Sets VER_FLG_WEAK on the requirement named <paramref name="version"/>; says what it did.</summary>
    public static string Patch(string path, string version)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }
        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        }

        var sectionHeaders = (long)U64(elf, 0x28);
        var sectionHeaderSize = U16(elf, 0x3A);
        var sectionCount = U16(elf, 0x3C);
        for (var i = 0; i < sectionCount; i++)
        {
            var header = checked((int)(sectionHeaders + (long)i * sectionHeaderSize));
            if (U32(elf, header + 4) != SectionTypeVerneed)
            {
                continue;
            }
            var verneed = checked((int)U64(elf, header + 0x18));
            var needCount = U32(elf, header + 0x2C);                   // sh_info: number of Verneed entries
            var strings = StringTableOffset(elf, sectionHeaders, sectionHeaderSize, U32(elf, header + 0x28)); // sh_link
            for (var n = 0; n < needCount; n++)
            {
                var aux = verneed + (int)U32(elf, verneed + 8);          // vn_aux
                for (var a = 0; a < U16(elf, verneed + 2); a++)          // vn_cnt
                {
                    if (ReadString(elf, strings + (int)U32(elf, aux + 8)) == version)  // vna_name
                    {
                        var flags = U16(elf, aux + 4);                   // vna_flags
                        if ((flags & WeakVersion) != 0)
                        {
                            return $"the {version} requirement is already weak";
                        }
                        elf[aux + 4] = (byte)(flags | WeakVersion);
                        File.WriteAllBytes(path, elf);
                        return $"made the {version} requirement weak, so C++ runtimes older than GCC 13's load it";
                    }
                    aux += (int)U32(elf, aux + 12);                      // vna_next
                }
                verneed += (int)U32(elf, verneed + 12);                  // vn_next
            }
        }
        return $"requires no {version}; left unchanged";
    }

    private static int StringTableOffset(byte[] elf, long sectionHeaders, int sectionHeaderSize, uint index) =>
        checked((int)U64(elf, checked((int)(sectionHeaders + index * sectionHeaderSize)) + 0x18));

    private static string ReadString(byte[] elf, int offset)
    {
        var end = Array.IndexOf(elf, (byte)0, offset);
        return Encoding.ASCII.GetString(elf, offset, end - offset);
    }

    private static ushort U16(byte[] b, int i) => BitConverter.ToUInt16(b, i);

    private static uint U32(byte[] b, int i) => BitConverter.ToUInt32(b, i);

    private static ulong U64(byte[] b, int i) => BitConverter.ToUInt64(b, i);
}
