using System;
using SkiaSharp;
using Serve.Runtime;

namespace Serve.Handlers.Vision;

/// <summary>
/// Decodes JPEG, PNG, BMP, GIF (its first frame) and WebP with SkiaSharp into RGB(A) pixels as
/// PIL's <c>ImageOps.exif_transpose(image).convert("RGB")</c> sees them: EXIF orientation
/// applied, grayscale replicated, palettes expanded, alpha kept aside (not blended).
/// Every failure is an <see cref="InvalidRequestException"/> with a message a client can act on.
/// </summary>
public static class ImageDecoder
{
    /// <summary>
    /// The most pixels an image may have (64 megapixels, 256 MB decoded): larger ones are refused
    /// from their header, before anything is allocated for them.
    /// </summary>
    public const long MaxPixels = 64L * 1024 * 1024;

    /// <summary>The whole image at full size, in an array of its own.</summary>
    public static RgbaImage Decode(ReadOnlySpan<byte> encoded) => Decode(encoded, pooled: false);

    /// <summary>
    /// The image, its pixels rented from the shared pool when <paramref name="pooled"/> (dispose it).
    /// Always the full size: libjpeg's DCT-scaled decode (1/8 ... 7/8) would be several times
    /// cheaper for large photographs, but measured against PIL's full decode it moves elements of
    /// the model's input by up to 0.25 and reorders the top-5 (ScaledJpegDecodeTests,
    /// docs/builtins.md), beyond the parity bound of 0.02, so it is not offered.
    /// </summary>
    internal static unsafe RgbaImage Decode(ReadOnlySpan<byte> encoded, bool pooled) => Decode(encoded, pooled, MaxPixels, "");

    /// <summary>
    /// As <see cref="Decode(ReadOnlySpan{byte}, bool)"/>, refusing from the header images over
    /// <paramref name="maxPixels"/>; <paramref name="limitSource"/> says where that limit is set.
    /// </summary>
    internal static unsafe RgbaImage Decode(ReadOnlySpan<byte> encoded, bool pooled, long maxPixels, string limitSource)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidRequestException("The request has no image: the body is empty.");
        }
        fixed (byte* bytes = encoded)
        {
            // SKData over the request's own bytes (no copy): they stay pinned while the codec reads them.
            using var data = SKData.Create((IntPtr)bytes, encoded.Length);
            using var stream = new SKMemoryStream(data);
            using var codec = SKCodec.Create(stream, out var createResult);
            if (codec is null)
            {
                throw new InvalidRequestException(createResult == SKCodecResult.IncompleteInput && HasImageSignature(encoded)
                    ? "The image is truncated: its header ends early."
                    : "The body is not an image in a format this handler reads: send a JPEG, PNG, BMP, GIF or WebP.");
            }
            var (width, height) = (codec.Info.Width, codec.Info.Height);
            if (width <= 0 || height <= 0)
            {
                throw new InvalidRequestException($"The image's header says it is {width}x{height} pixels.");
            }
            if ((long)width * height > maxPixels)
            {
                throw new InvalidRequestException(
                    $"The image is {width}x{height} pixels ({(long)width * height / 1_000_000} megapixels); images up to {maxPixels / (1024 * 1024)} megapixels are accepted{limitSource}.");
            }

            var image = pooled ? RgbaImage.Rent(width, height) : new RgbaImage(width, height, GC.AllocateUninitializedArray<byte>(checked(width * height * 4)));
            SKCodecResult result;
            fixed (byte* destination = image.Pixels)
            {
                // Frame 0 of an animation; no colour-space conversion, as PIL does none.
                var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                result = codec.GetPixels(info, (IntPtr)destination, new SKCodecOptions(0));
            }
            if (result != SKCodecResult.Success)
            {
                image.Dispose();
                throw new InvalidRequestException(result == SKCodecResult.IncompleteInput
                    ? $"The {Format(codec)} image is truncated: its {width}x{height} pixels end early."
                    : $"The {Format(codec)} image could not be decoded ({result}); it is corrupt.");
            }
            return ExifOrientation.Apply(image, codec.EncodedOrigin, pooled);
        }
    }

    private static bool HasImageSignature(ReadOnlySpan<byte> bytes) =>
        bytes.StartsWith([(byte)0xFF, (byte)0xD8]) || bytes.StartsWith([(byte)0x89, (byte)'P', (byte)'N', (byte)'G'])
        || bytes.StartsWith("GIF8"u8) || bytes.StartsWith("BM"u8) || (bytes.StartsWith("RIFF"u8) && bytes.Length >= 12 && bytes[8..12].SequenceEqual("WEBP"u8));

    private static string Format(SKCodec codec) => codec.EncodedFormat.ToString().ToUpperInvariant();
}
