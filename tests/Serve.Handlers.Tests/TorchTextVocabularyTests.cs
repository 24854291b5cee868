using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading.Tasks;
using Serve.Handlers.Text;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>TorchServe's source_vocab.pt read as data (fixtures/make_torchserve_reference.py wrote the pickles).</summary>
public class TorchTextVocabularyTests
{
    private static string Reference(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "torchserve-reference", "text", name);

    private static string[] SourceTokens() =>
        File.ReadAllText(Path.Combine(TextFixtures.Root, "embedding_bag", "source_vocab.txt")).Split('\n');

    [Fact]
    public void The_torchtext_0_10_form_gives_its_tokens_and_default_index()
    {
        var vocabulary = TorchTextVocabulary.Read(Reference("source_vocab.pt"));
        var tokens = SourceTokens();
        Assert.Equal(tokens, vocabulary.Tokens);
        Assert.Equal(Array.IndexOf(tokens, "<unk>"), vocabulary.DefaultIndex);
    }

    [Fact]
    public void The_legacy_form_gives_its_itos_and_unk_index()
    {
        var vocabulary = TorchTextVocabulary.Read(Reference("legacy_vocab.pt"));
        var tokens = SourceTokens();
        Assert.Equal(tokens, vocabulary.Tokens);
        Assert.Equal(Array.IndexOf(tokens, "<unk>"), vocabulary.DefaultIndex);
    }

    [Fact]
    public void A_pickle_that_would_run_a_command_is_refused_naming_the_global()
    {
        // torch.save's layout around the classic exploit: posix.system("touch ...") by REDUCE.
        var marker = Path.Combine(Path.GetTempPath(), $"serve-pickle-{Guid.NewGuid():N}");
        var command = System.Text.Encoding.ASCII.GetBytes("touch " + marker);
        byte[] pickle = [0x80, 0x02, .. "cposix\nsystem\n"u8, (byte)'X', .. BitConverter.GetBytes(command.Length), .. command, 0x85, (byte)'R', (byte)'.'];
        var path = TorchSave(pickle);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => TorchTextVocabulary.Read(path));
            Assert.Contains("'posix.system'", error.Message);
            Assert.Contains("nothing in it ran", error.Message);
            Assert.False(File.Exists(marker));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_state_dict_is_not_a_vocabulary_and_says_what_it_is()
    {
        byte[] pickle = [0x80, 0x02, .. "ccollections\nOrderedDict\n"u8, (byte)')', (byte)'R', (byte)'.'];
        var path = TorchSave(pickle);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => TorchTextVocabulary.Read(path));
            Assert.Contains("not a torchtext Vocab", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'N', (byte)'.' }, "not in the zip format")]
    [InlineData(new byte[] { }, "not in the zip format")]
    public void A_file_that_is_not_torch_saves_zip_is_refused_saying_so(byte[] bytes, string message)
    {
        var path = Path.GetTempFileName();
        File.WriteAllBytes(path, bytes);
        try
        {
            Assert.Contains(message, Assert.Throws<InvalidDataException>(() => TorchTextVocabulary.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Both_source_vocabularies_in_one_archive_fail_to_load_naming_them()
    {
        var directory = TextFixtures.ModelDirectory("embedding_bag", "model.onnx");
        try
        {
            File.Copy(Reference("source_vocab.pt"), Path.Combine(directory, "source_vocab.pt"));
            var error = await Assert.ThrowsAsync<HandlerStageException>(() => TextFixtures.Load(directory));
            Assert.Contains("holds source_vocab.txt and source_vocab.pt", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A zip as torch.save writes it: NAME/data.pkl.</summary>
    private static string TorchSave(byte[] pickle)
    {
        var path = Path.Combine(Path.GetTempPath(), $"serve-vocab-{Guid.NewGuid():N}.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var stream = zip.CreateEntry("source_vocab/data.pkl").Open())
        {
            stream.Write(pickle);
        }
        return path;
    }
}
