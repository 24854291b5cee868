using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.AspNetCore.Http;
using Samples.Digits;
using Serve.Runtime;
using Serve.Server.Http;
using Serve.Torch.Pickles;

namespace Serve.FuzzTests;

/// <summary>
/// Every parser that reads untrusted bytes, fed mutated seeds: it answers with its documented
/// refusal (an error result, <see cref="InvalidRequestException"/>, <see cref="ModelLoadException"/>)
/// or a well-formed value, and never throws anything else, hangs, or returns nonsense.
/// Bounded by count (SERVE_FUZZ_RUNS overrides the default for a longer run).
/// </summary>
public class FuzzTests
{
    private const int BodyLimit = 4096;
    private static readonly FormLimits SmallFormLimits = new(MaxParts: 8, MaxPartHeaderSize: 256);

    [Fact]
    public void Request_bodies_and_multipart_are_read_or_refused_with_400_or_413()
    {
        Prop.ForAll(Mutations.Of("bodies"), Arb.From(Gen.Elements(true, false)), (entry, chunked) => ReadsOrRefuses(entry, chunked))
            .Check(Mutations.Config(3000));
    }

    [Fact]
    public void Multipart_with_any_boundary_is_read_or_refused()
    {
        var boundaries = Gen.Elements("b", "XyZ", "a b", new string('x', 70), new string('x', 71), "\"", "--", "\r\n", "");
        Prop.ForAll(Mutations.Of("bodies"), Arb.From(boundaries), (entry, boundary) =>
        {
            var (_, body) = Mutations.AsRequest(entry);
            var (part, error) = MultipartForm.Read(body, boundary, SmallFormLimits);
            if (error is not null)
            {
                Assert.Equal(400, error.StatusCode);
                Assert.False(string.IsNullOrWhiteSpace(error.Message));
            }
            else
            {
                Assert.InRange(part.Length, 0, body.Length);
            }
        }).Check(Mutations.Config(3000));
    }

    [Fact]
    public void Images_decode_to_an_8x8_tensor_in_0_1_or_are_refused_as_invalid_requests()
    {
        Prop.ForAll(Mutations.Of("images"), DecodesOrRefuses).Check(Mutations.Config(1500));
    }

    [Fact]
    public void Model_config_yaml_parses_or_is_refused_as_a_model_load_error()
    {
        Prop.ForAll(Mutations.Of("model-config"), bytes =>
        {
            try
            {
                var config = ModelConfig.Parse(new StringReader(Encoding.UTF8.GetString(bytes)), "fuzz.yaml");
                Assert.True(config.BatchSize >= 1);
            }
            catch (ModelLoadException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }).Check(Mutations.Config(3000));
    }

    [Fact]
    public void Manifests_parse_or_are_refused_as_a_model_load_error()
    {
        var directory = Directory.CreateTempSubdirectory("serve-fuzz-manifest-").FullName;
        try
        {
            var path = Path.Combine(directory, ModelManifest.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Prop.ForAll(Mutations.Of("manifests"), bytes =>
            {
                File.WriteAllBytes(path, bytes);
                try
                {
                    var manifest = ModelManifest.Read(directory);
                    Assert.False(string.IsNullOrEmpty(manifest.ModelName));
                }
                catch (ModelLoadException e)
                {
                    Assert.False(string.IsNullOrWhiteSpace(e.Message));
                }
            }).Check(Mutations.Config(1500));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Pickles_are_scanned_or_refused_as_unsafe()
    {
        Prop.ForAll(Mutations.Of("pickles"), bytes =>
        {
            try
            {
                var globals = PickleScanner.Scan(bytes, "fuzz.pkl");
                Assert.All(globals, global => Assert.Contains(global, PickleScanner.AllowedGlobals));
            }
            catch (UnsafePickleException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }).Check(Mutations.Config(3000));
    }

    // The corpus itself, unmutated: every committed seed (and every regression added to it) stays handled.
    [Fact]
    public void Every_corpus_entry_is_handled()
    {
        foreach (var entry in Mutations.Seeds("bodies"))
        {
            ReadsOrRefuses(entry, chunked: false);
            ReadsOrRefuses(entry, chunked: true);
        }
        foreach (var image in Mutations.Seeds("images"))
        {
            var tensor = DigitImage.ToTensor(image); // the seeds are valid images
            Assert.Equal(new[] { 1, 8, 8 }, tensor.Dimensions.ToArray());
        }
    }

    private static void ReadsOrRefuses(byte[] entry, bool chunked)
    {
        var (contentType, body) = Mutations.AsRequest(entry);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = chunked ? null : body.Length;

        // Pooled, as predictions read it: a refused body has already gone back (Pooled is null).
        var result = RequestBody.ReadAsync(context.Request, BodyLimit, SmallFormLimits, pooled: true, CancellationToken.None).GetAwaiter().GetResult();

        if (result.Error is { } error)
        {
            Assert.Null(result.Pooled);
            Assert.Contains(error.StatusCode, new[] { 400, 413 });
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            // Over the limit is 413 whatever the framing (a chunked body's bad Content-Type may be refused first);
            // within it, never.
            if (body.Length > BodyLimit && !chunked)
            {
                Assert.Equal(413, error.StatusCode);
            }
            if (body.Length <= BodyLimit)
            {
                Assert.Equal(400, error.StatusCode);
            }
        }
        else
        {
            Assert.InRange(result.Bytes.Length, 1, Math.Min(body.Length, BodyLimit));
            result.Pooled?.Release();
        }
    }

    private static void DecodesOrRefuses(byte[] bytes)
    {
        try
        {
            var tensor = DigitImage.ToTensor(bytes);
            Assert.Equal(new[] { 1, 8, 8 }, tensor.Dimensions.ToArray());
            foreach (var value in tensor.Buffer.Span)
            {
                Assert.InRange(value, 0f, 1f);
            }
        }
        catch (InvalidRequestException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
    }
}
