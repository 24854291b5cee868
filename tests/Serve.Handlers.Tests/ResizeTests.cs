using System;
using Serve.Handlers.Vision;

namespace Serve.Handlers.Tests;

/// <summary>
/// Our resize (AVX2 where the processor has it) against Pillow's Resample.c written out plainly
/// here, whole image then crop, on random pixels and sizes the parity images do not cover.
/// </summary>
public class ResizeTests
{
    [Theory]
    [InlineData(640, 427, 384, 256)]     // the photographs: shrink by 1.67
    [InlineData(3000, 2000, 384, 256)]   // a large photograph: 17-tap kernels
    [InlineData(21, 13, 301, 187)]       // enlarge, odd sizes
    [InlineData(257, 999, 256, 995)]     // both passes almost the identity, rows not a multiple of 32 bytes
    [InlineData(333, 250, 333, 177)]     // same width: the vertical pass alone
    [InlineData(250, 333, 177, 333)]     // same height: the horizontal pass alone
    public void Every_byte_is_pillows(int width, int height, int newWidth, int newHeight)
    {
        var pixels = new byte[width * height * 4];
        new Random(width * 31 + height).NextBytes(pixels);
        var image = new RgbaImage(width, height, pixels);
        var (left, top) = (newWidth / 7, newHeight / 5);
        var (cropWidth, cropHeight) = (newWidth - left - 3, newHeight - top - 1);

        var ours = PillowResize.Resize(image, newWidth, newHeight, (left, top, cropWidth, cropHeight));
        var pillow = PillowReference(image, newWidth, newHeight);

        Assert.Equal((cropWidth, cropHeight), (ours.Width, ours.Height));
        for (var y = 0; y < cropHeight; y++)
        {
            for (var x = 0; x < cropWidth; x++)
            {
                for (var c = 0; c < 3; c++) // PIL's RGB has no alpha to compare
                {
                    var (expected, actual) = (pillow[((top + y) * newWidth + left + x) * 4 + c], ours.Pixels[(y * cropWidth + x) * 4 + c]);
                    Assert.True(expected == actual, $"Pixel ({x}, {y}) channel {c}: Pillow {expected}, ours {actual}.");
                }
            }
        }
    }

    /// <summary>ImagingResample for 8-bit RGB(A): horizontal pass to 8 bits, vertical pass, 22-bit coefficients.</summary>
    private static byte[] PillowReference(RgbaImage image, int width, int height)
    {
        var horizontal = Pass(image.Pixels, image.Width, image.Height, width, horizontalPass: true);
        return Pass(horizontal, width, image.Height, height, horizontalPass: false);
    }

    private static byte[] Pass(byte[] source, int width, int height, int outSize, bool horizontalPass)
    {
        var inSize = horizontalPass ? width : height;
        if (outSize == inSize)
        {
            return source;
        }
        var (outWidth, outHeight) = horizontalPass ? (outSize, height) : (width, outSize);
        var target = new byte[outWidth * outHeight * 4];
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        for (var o = 0; o < outSize; o++)
        {
            var center = (o + 0.5) * scale;
            var min = Math.Max((int)(center - filterScale + 0.5), 0);
            var count = Math.Min((int)(center + filterScale + 0.5), inSize) - min;
            var k = new double[count];
            for (var i = 0; i < count; i++)
            {
                k[i] = Math.Max(1.0 - Math.Abs((i + min - center + 0.5) / filterScale), 0.0);
            }
            var total = 0.0;
            foreach (var v in k)
            {
                total += v;
            }
            var weights = Array.ConvertAll(k, v => (int)(0.5 + v / total * (1 << 22)));
            var lines = horizontalPass ? height : width;
            for (var line = 0; line < lines; line++)
            {
                for (var c = 0; c < 4; c++)
                {
                    var sum = 1 << 21;
                    for (var i = 0; i < count; i++)
                    {
                        var (x, y) = horizontalPass ? (min + i, line) : (line, min + i);
                        sum += source[(y * width + x) * 4 + c] * weights[i];
                    }
                    var (tx, ty) = horizontalPass ? (o, line) : (line, o);
                    target[(ty * outWidth + tx) * 4 + c] = (byte)Math.Clamp(sum >> 22, 0, 255);
                }
            }
        }
        return target;
    }
}
