using System;
using System.IO;
using System.Linq;
using System.Text;
using Serve.Runtime;
using Serve.Torch.Pickles;

namespace Serve.Torch.Tests;

/// <summary>Weights never run code: pickles are scanned against an allow-list before any loader sees them.</summary>
public class PickleSafetyTests
{
    // Where the malicious fixtures' os.system("touch ...") would leave its mark (fixtures/make_backends.py).
    private const string Marker = "/tmp/serve-malicious-pickle-ran";

    [Theory]
    [InlineData("malicious.state_dict.pt")]   // GLOBAL posix system
    [InlineData("malicious_protocol4.pt")]    // STACK_GLOBAL, names from the stack
    public void A_state_dict_that_calls_os_system_is_refused_by_name_and_nothing_runs(string fixture)
    {
        File.Delete(Marker);
        var context = Fixtures.Context(fixture);

        var error = Assert.Throws<ModelLoadException>(() => context.LoadModel());

        Assert.Contains("refers to the Python global 'posix.system'", error.Message);
        Assert.Contains("the file is refused and nothing in it ran", error.Message);
        Assert.Equal("posix.system", Assert.IsType<UnsafePickleException>(error.GetBaseException()).Global);
        Assert.False(File.Exists(Marker), "the pickle's command ran");
    }

    [Fact]
    public void A_real_state_dict_names_only_allowed_globals()
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(Fixtures.File("tiny.state_dict.pt"));
        using var data = new MemoryStream();
        zip.Entries.Single(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)).Open().CopyTo(data);

        var globals = PickleScanner.Scan(data.ToArray(), "data.pkl");

        Assert.Equal(["collections.OrderedDict", "torch.FloatStorage", "torch.LongStorage", "torch._utils._rebuild_tensor_v2"],
            globals.Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Stack_global_is_checked_against_the_real_stack_not_the_last_strings_seen()
    {
        // Push "os", "system", then "collections", "OrderedDict", pop both: STACK_GLOBAL gets os.system.
        var pickle = Pickle(p => p.Proto().Str("os").Str("system").Str("collections").Str("OrderedDict").Op(0x30).Op(0x30).Op(0x93).Op(0x2e));

        var error = Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted"));

        Assert.Equal("os.system", error.Global);
    }

    [Fact]
    public void Stack_global_through_the_memo_is_followed()
    {
        var pickle = Pickle(p => p.Proto().Str("builtins").Op(0x94).Op(0x30).Op((byte)'h', 0).Str("eval").Op(0x93).Op(0x2e));

        Assert.Equal("builtins.eval", Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted")).Global);
    }

    [Fact]
    public void Stack_global_with_names_that_are_not_constants_is_refused()
    {
        // The module name is the result of a call: it cannot be known without running the pickle.
        var pickle = Pickle(p => p.Proto().Global("collections", "OrderedDict").Op((byte)')').Op((byte)'R').Str("x").Op(0x93).Op(0x2e));

        var error = Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted"));

        Assert.Contains("STACK_GLOBAL at byte", error.Message);
        Assert.Contains("not a constant string", error.Message);
    }

    [Theory]
    [InlineData((byte)'i', "INST")]
    [InlineData((byte)'c', "GLOBAL")]
    public void Inst_and_global_are_checked(byte opcode, string name)
    {
        var pickle = Pickle(p => p.Proto().Op((byte)'(').Op(opcode).Line("subprocess").Line("Popen").Op(0x2e));

        Assert.True(name.Length > 0);
        Assert.Equal("subprocess.Popen", Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted")).Global);
    }

    [Theory]
    [InlineData(0x82, "EXT1")]
    [InlineData(0x83, "EXT2")]
    [InlineData(0x84, "EXT4")]
    public void Extension_registry_globals_are_refused(byte opcode, string name)
    {
        var pickle = Pickle(p => p.Proto().Op(opcode, 1, 0, 0, 0).Op(0x2e));

        Assert.Contains($"opcode {name} at byte 2 loads a global from the extension registry", Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted")).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2, (byte)'X', 9, 0, 0, 0, (byte)'a' }, "it ends inside an opcode")]
    [InlineData(new byte[] { 0x80, 2, (byte)'0' }, "no MARK to pop")]
    [InlineData(new byte[] { 0x80, 2, (byte)'h', 3 }, "memo entry 3 read before it was written")]
    [InlineData(new byte[] { 0x80, 2, 0xff }, "unknown pickle opcode 0xff at byte 2")]
    public void Malformed_pickles_are_refused_saying_where(byte[] pickle, string message)
    {
        Assert.Contains(message, Assert.Throws<UnsafePickleException>(() => PickleScanner.Scan(pickle, "crafted")).Message);
    }

    private static byte[] Pickle(Action<PickleWriter> write)
    {
        var writer = new PickleWriter();
        write(writer);
        return writer.Bytes.ToArray();
    }

    private sealed class PickleWriter
    {
        public MemoryStream Bytes { get; } = new();

        public PickleWriter Proto() => Op(0x80, 4);

        public PickleWriter Op(params byte[] bytes)
        {
            Bytes.Write(bytes);
            return this;
        }

        public PickleWriter Str(string text) => Op(0x8c, (byte)text.Length).Op(Encoding.UTF8.GetBytes(text));

        public PickleWriter Line(string text) => Op(Encoding.UTF8.GetBytes(text + "\n"));

        public PickleWriter Global(string module, string name) => Op((byte)'c').Line(module).Line(name);
    }
}
