using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using Serve.Handlers.Vision;
using Serve.Runtime;
using SkiaSharp;

namespace Serve.Handlers.Tests;

/// <summary>Input that is not a usable image is refused with a clear message, without allocating for it.</summary>
public class BadImageTests
{
    public static TheoryData<string, byte[], string> BadImages()
    {
        var jpeg = Fixtures.Image("china.jpg");
        var corrupt = (byte[])jpeg.Clone();
        // Garbage over the headers after the start-of-image marker: the quantisation and Huffman
        // tables and the frame header. (Garbage in the entropy-coded data alone decodes, in
        // libjpeg as in PIL, to a garbled picture: nothing can tell it from a real one.)
        new Random(1).NextBytes(corrupt.AsSpan(2, 600));
        return new()
        {
            { "corrupt JPEG", corrupt, "not an image" },
            { "truncated JPEG", jpeg[..(jpeg.Length / 2)], "truncated" },
            { "JPEG header only", jpeg[..200], "truncated" },
            { "20000x20000 PNG header", PngHeader(20000, 20000), "20000x20000 pixels" },
            { "text", "hello, this is not an image"u8.ToArray(), "not an image" },
            { "empty body", [], "body is empty" },
            { "JSON without an image", "{\"text\": \"hi\"}"u8.ToArray(), "has no image" },
            { "bad base64", "{\"data\": \"%%%\"}"u8.ToArray(), "not valid base64" },
        };
    }

    [Theory]
    [MemberData(nameof(BadImages))]
    public void Each_is_refused_with_a_clear_message(string what, byte[] body, string message)
    {
        var error = Assert.Throws<InvalidRequestException>(() => new ImageClassifier().Preprocess(new InferenceRequest(body)));
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    /// <summary>TorchServe's PIL pipeline takes any size; so do we (7x5 is the case, 1x1 the smallest).</summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 5)]
    [InlineData(5, 7)]
    public void Images_smaller_than_the_crop_are_upscaled_not_refused(int width, int height)
    {
        var body = Png(width, height);
        Assert.Equal([3L, 224L, 224L], new ImageClassifier().Preprocess(new InferenceRequest(body)).Shape.ToArray());
        Assert.Equal([3L, 224L, 224L], new ImageSegmenter().Preprocess(new InferenceRequest(body)).Shape.ToArray());
        using var image = ImageDecoder.Decode(body);
        Assert.Equal((width, height), (image.Width, image.Height));
    }

    [Fact]
    public void A_huge_header_is_refused_before_its_pixels_are_allocated()
    {
        var body = PngHeader(20000, 20000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidRequestException>(() => ImageDecoder.Decode(body));
        // 20000 x 20000 RGBA is 1.6 GB; the refusal costs a few kilobytes.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    private static byte[] Png(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(SKColors.Red);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A PNG whose header claims the given size, with one small IDAT and IEND: valid up to its pixels.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // RGB
        Chunk(stream, "IHDR", ihdr);
        Chunk(stream, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(stream, "IEND", []);
        return stream.ToArray();
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        stream.Write(typeAndData);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        stream.Write(crc);
    }

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }
}
