using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Serve.Handlers.Vision;

/// <summary>
/// Pillow's <c>Image.resize(size, BILINEAR)</c> for 8-bit RGB, to the bit: a triangle filter
/// widened by the scale factor when shrinking (antialiasing), coefficients in 22-bit fixed point,
/// a horizontal pass into 8-bit rows and then a vertical pass (Pillow's Resample.c). Only the
/// requested window of the output is computed, so a resize followed by a crop costs the crop.
/// </summary>
public static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// The pixels of <paramref name="window"/> of <paramref name="image"/> resized to
    /// <paramref name="width"/> x <paramref name="height"/>, as an image of the window's size.
    /// </summary>
    public static RgbaImage Resize(RgbaImage image, int width, int height, (int X, int Y, int Width, int Height) window)
    {
        if (window.X < 0 || window.Y < 0 || window.X + window.Width > width || window.Y + window.Height > height)
        {
            throw new ArgumentOutOfRangeException(nameof(window), $"The window {window} is not inside {width}x{height}.");
        }
        var horizontal = Coefficients.For(image.Width, width, window.X, window.Width);
        var vertical = Coefficients.For(image.Height, height, window.Y, window.Height);

        // The source rows the window's output rows read, resized horizontally once each.
        var firstRow = vertical.Bounds[0];
        var lastRow = vertical.Bounds[^2] + vertical.Bounds[^1];
        var rows = new RgbaImage(window.Width, lastRow - firstRow, new byte[window.Width * 4 * (lastRow - firstRow)]);
        if (width == image.Width)
        {
            for (var y = 0; y < rows.Height; y++)
            {
                image.Pixels.AsSpan((firstRow + y) * image.Stride + window.X * 4, rows.Stride).CopyTo(rows.Pixels.AsSpan(y * rows.Stride));
            }
        }
        else
        {
            ResampleHorizontal(image, firstRow, rows, horizontal);
        }
        if (height == image.Height)
        {
            return new RgbaImage(window.Width, window.Height, rows.Pixels.AsSpan(window.Y * rows.Stride - firstRow * rows.Stride, window.Height * rows.Stride).ToArray());
        }
        var output = new RgbaImage(window.Width, window.Height, new byte[window.Width * window.Height * 4]);
        ResampleVertical(rows, firstRow, output, vertical);
        return output;
    }

    private static void ResampleHorizontal(RgbaImage source, int firstRow, RgbaImage target, Coefficients c)
    {
        for (var y = 0; y < target.Height; y++)
        {
            var sourceRow = source.Pixels.AsSpan((firstRow + y) * source.Stride, source.Stride);
            var targetRow = target.Pixels.AsSpan(y * target.Stride, target.Stride);
            for (var x = 0; x < target.Width; x++)
            {
                var start = c.Bounds[2 * x];
                var count = c.Bounds[2 * x + 1];
                var k = c.Weights.AsSpan(x * c.Size, count);
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                var pixels = sourceRow.Slice(start * 4, count * 4);
                for (var i = 0; i < k.Length; i++)
                {
                    r += pixels[4 * i] * k[i];
                    g += pixels[4 * i + 1] * k[i];
                    b += pixels[4 * i + 2] * k[i];
                }
                targetRow[4 * x] = Clip(r);
                targetRow[4 * x + 1] = Clip(g);
                targetRow[4 * x + 2] = Clip(b);
            }
        }
    }

    /// <summary>Each output row is a weighted sum of whole source rows: vectorized across the row.</summary>
    private static void ResampleVertical(RgbaImage source, int firstRow, RgbaImage target, Coefficients c)
    {
        var length = target.Stride;
        var sums = new int[length];
        for (var y = 0; y < target.Height; y++)
        {
            var start = c.Bounds[2 * y] - firstRow;
            var count = c.Bounds[2 * y + 1];
            sums.AsSpan().Fill(1 << (PrecisionBits - 1));
            for (var i = 0; i < count; i++)
            {
                AddScaled(source.Pixels.AsSpan((start + i) * source.Stride, length), c.Weights[y * c.Size + i], sums);
            }
            var targetRow = target.Pixels.AsSpan(y * length, length);
            for (var x = 0; x < length; x++)
            {
                targetRow[x] = Clip(sums[x]);
            }
        }
    }

    private static void AddScaled(ReadOnlySpan<byte> row, int weight, Span<int> sums)
    {
        var x = 0;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<byte>.Count)
        {
            var k = new Vector<int>(weight);
            var intSums = MemoryMarshal.Cast<int, Vector<int>>(sums);
            for (; x <= row.Length - Vector<byte>.Count; x += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(row.Slice(x)), out var low, out var high);
                Vector.Widen(low, out var a, out var b);
                Vector.Widen(high, out var d, out var e);
                var v = x / Vector<int>.Count;
                intSums[v] += Vector.AsVectorInt32(a) * k;
                intSums[v + 1] += Vector.AsVectorInt32(b) * k;
                intSums[v + 2] += Vector.AsVectorInt32(d) * k;
                intSums[v + 3] += Vector.AsVectorInt32(e) * k;
            }
        }
        for (; x < row.Length; x++)
        {
            sums[x] += row[x] * weight;
        }
    }

    private static byte Clip(int value) => (byte)Math.Clamp(value >> PrecisionBits, 0, 255);

    /// <summary>Pillow's <c>precompute_coeffs</c> and <c>normalize_coeffs_8bpc</c>, for the outputs in a window.</summary>
    private sealed class Coefficients
    {
        public required int[] Bounds { get; init; }   // first source pixel and count, per output pixel

        public required int[] Weights { get; init; }  // Size per output pixel, fixed point

        public required int Size { get; init; }

        public static Coefficients For(int inSize, int outSize, int windowStart, int windowLength)
        {
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = 1.0 * filterScale; // the bilinear filter's support is 1
            var size = (int)Math.Ceiling(support) * 2 + 1;
            var bounds = new int[windowLength * 2];
            var weights = new int[windowLength * size];
            var k = new double[size];
            for (var o = 0; o < windowLength; o++)
            {
                var center = (windowStart + o + 0.5) * scale;
                var ss = 1.0 / filterScale;
                var min = Math.Max((int)(center - support + 0.5), 0);
                var max = Math.Min((int)(center + support + 0.5), inSize) - min;
                var total = 0.0;
                for (var i = 0; i < max; i++)
                {
                    var w = Math.Abs((i + min - center + 0.5) * ss);
                    k[i] = w < 1.0 ? 1.0 - w : 0.0;
                    total += k[i];
                }
                for (var i = 0; i < max; i++)
                {
                    var w = total != 0.0 ? k[i] / total : k[i];
                    weights[o * size + i] = (int)(w < 0 ? -0.5 + w * (1 << PrecisionBits) : 0.5 + w * (1 << PrecisionBits));
                }
                bounds[2 * o] = min;
                bounds[2 * o + 1] = max;
            }
            return new Coefficients { Bounds = bounds, Weights = weights, Size = size };
        }
    }
}
