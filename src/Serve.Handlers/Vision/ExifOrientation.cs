using System;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Serve.Handlers.Vision;

/// <summary>Turns pixels stored in a camera's orientation upright, as PIL's <c>ImageOps.exif_transpose</c>.</summary>
internal static class ExifOrientation
{
    /// <summary>The upright image: <paramref name="image"/> itself, or a new one of the same kind (pooled or not) after disposing it.</summary>
    public static RgbaImage Apply(RgbaImage image, SKEncodedOrigin origin, bool pooled)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0)
        {
            return image;
        }
        var (w, h) = (image.Width, image.Height);
        var swaps = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (outW, outH) = swaps ? (h, w) : (w, h);
        var upright = pooled ? RgbaImage.Rent(outW, outH) : new RgbaImage(outW, outH, new byte[image.Span.Length]);
        var source = MemoryMarshal.Cast<byte, uint>(image.Span);
        var target = MemoryMarshal.Cast<byte, uint>(upright.Span);
        for (var y = 0; y < outH; y++)
        {
            for (var x = 0; x < outW; x++)
            {
                // (sx, sy): where upright pixel (x, y) is stored.
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),           // 2: mirrored
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y), // 3: rotated 180
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),         // 4: flipped
                    SKEncodedOrigin.LeftTop => (y, x),                    // 5: transposed
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),           // 6: rotated 90 clockwise
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x), // 7: transversed
                    _ => (w - 1 - y, x),                                  // 8: rotated 90 counter-clockwise
                };
                target[y * outW + x] = source[sy * w + sx];
            }
        }
        image.Dispose();
        return upright;
    }
}
