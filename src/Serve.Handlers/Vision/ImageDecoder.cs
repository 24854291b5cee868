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

    /// <summary>
    /// The smallest side accepted (the 8x8 scans of scikit-learn's digits are the smallest real
    /// images the tests know): a 1x1 or 2x2 "image" holds nothing a model can recognise.
    /// </summary>
    public const int MinSide = 8;

    /// <summary>The whole image at full size, in an array of its own.</summary>
    public static RgbaImage Decode(ReadOnlySpan<byte> encoded) => Decode(encoded, pooled: false, jpegShorterSide: 0);

    /// <summary>
    /// The image, its pixels rented from the shared pool when <paramref name="pooled"/> (dispose it).
    /// With <paramref name="jpegShorterSide"/> above 0, a JPEG whose shorter side is at least twice
    /// that is decoded by libjpeg's DCT scaling at the smallest of 1/8, 2/8 ... 7/8 that keeps its
    /// shorter side at least <paramref name="jpegShorterSide"/>: far cheaper for large photographs,
    /// but not the pixels PIL's full decode gives (see docs/builtins.md for how far off).
    /// </summary>
    internal static unsafe RgbaImage Decode(ReadOnlySpan<byte> encoded, bool pooled, int jpegShorterSide)
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
            if (width < MinSide || height < MinSide)
            {
                throw new InvalidRequestException($"The image is {width}x{height} pixels; images must be at least {MinSide}x{MinSide}.");
            }
            if ((long)width * height > MaxPixels)
            {
                throw new InvalidRequestException(
                    $"The image is {width}x{height} pixels ({(long)width * height / 1_000_000} megapixels); images up to {MaxPixels / (1024 * 1024)} megapixels are accepted.");
            }

            var (decodedWidth, decodedHeight) = ScaledSize(codec, jpegShorterSide);
            var image = pooled ? RgbaImage.Rent(decodedWidth, decodedHeight) : new RgbaImage(decodedWidth, decodedHeight, GC.AllocateUninitializedArray<byte>(checked(decodedWidth * decodedHeight * 4)));
            SKCodecResult result;
            fixed (byte* destination = image.Pixels)
            {
                // Frame 0 of an animation; no colour-space conversion, as PIL does none.
                var info = new SKImageInfo(decodedWidth, decodedHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul);
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

    /// <summary>The size to decode at: the full size, or a JPEG's DCT-scaled size that keeps the shorter side at least <paramref name="shorterSide"/>.</summary>
    private static (int Width, int Height) ScaledSize(SKCodec codec, int shorterSide)
    {
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        var shorter = Math.Min(width, height);
        if (shorterSide <= 0 || codec.EncodedFormat != SKEncodedImageFormat.Jpeg || shorter < 2 * shorterSide)
        {
            return (width, height);
        }
        // libjpeg scales by n/8 and rounds the size up, so the size for scale s has a shorter side of at least s * shorter.
        var scaled = codec.GetScaledDimensions((float)shorterSide / shorter);
        return Math.Min(scaled.Width, scaled.Height) >= shorterSide && scaled.Width < width ? (scaled.Width, scaled.Height) : (width, height);
    }

    private static bool HasImageSignature(ReadOnlySpan<byte> bytes) =>
        bytes.StartsWith([(byte)0xFF, (byte)0xD8]) || bytes.StartsWith([(byte)0x89, (byte)'P', (byte)'N', (byte)'G'])
        || bytes.StartsWith("GIF8"u8) || bytes.StartsWith("BM"u8) || (bytes.StartsWith("RIFF"u8) && bytes.Length >= 12 && bytes[8..12].SequenceEqual("WEBP"u8));

    private static string Format(SKCodec codec) => codec.EncodedFormat.ToString().ToUpperInvariant();
}
