using System;
using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Serve.Handlers.Vision;

/// <summary>
/// Pillow's <c>Image.resize(size, BILINEAR)</c> for 8-bit RGB, to the bit: a triangle filter
/// widened by the scale factor when shrinking (antialiasing), coefficients in 22-bit fixed point,
/// a horizontal pass into 8-bit rows and then a vertical pass (Pillow's Resample.c). Only the
/// requested window of the output is computed, so a resize followed by a crop costs the crop.
/// </summary>
/// <remarks>
/// Both passes run on AVX2 where the processor has it: the same 32-bit integer products and sums
/// as Pillow's C, four channels (horizontal) or eight bytes (vertical) at a time, so every output
/// byte is the same; elsewhere they run one value at a time.
/// </remarks>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>
    /// The pixels of <paramref name="window"/> of <paramref name="image"/> resized to
    /// <paramref name="width"/> x <paramref name="height"/>, as an image of the window's size.
    /// </summary>
    public static RgbaImage Resize(RgbaImage image, int width, int height, (int X, int Y, int Width, int Height) window) =>
        Resize(image, width, height, window, pooled: false, vectorized: Avx2.IsSupported);

    /// <summary>
    /// As the public overload; <c>pooled</c> rents the result's pixels from the shared pool (dispose
    /// it), <c>vectorized</c> uses AVX2 (it must be supported) and false the scalar passes the tests compare it with.
    /// </summary>
    internal static RgbaImage Resize(RgbaImage image, int width, int height, (int X, int Y, int Width, int Height) window, bool pooled, bool vectorized)
    {
        if (window.X < 0 || window.Y < 0 || window.X + window.Width > width || window.Y + window.Height > height)
        {
            throw new ArgumentOutOfRangeException(nameof(window), $"The window {window} is not inside {width}x{height}.");
        }
        var output = pooled ? RgbaImage.Rent(window.Width, window.Height) : new RgbaImage(window.Width, window.Height, new byte[window.Width * window.Height * 4]);
        using var vertical = Coefficients.For(image.Height, height, window.Y, window.Height);
        // The source rows the window's output rows read, resized horizontally once each.
        var firstRow = vertical.Bounds[0];
        var rowCount = vertical.Bounds[2 * window.Height - 2] + vertical.Bounds[2 * window.Height - 1] - firstRow;
        using var rows = RgbaImage.Rent(window.Width, rowCount);
        if (width == image.Width)
        {
            for (var y = 0; y < rowCount; y++)
            {
                image.Pixels.AsSpan((firstRow + y) * image.Stride + window.X * 4, rows.Stride).CopyTo(rows.Pixels.AsSpan(y * rows.Stride));
            }
        }
        else
        {
            using var horizontal = Coefficients.For(image.Width, width, window.X, window.Width);
            if (vectorized)
            {
                ResampleHorizontalAvx2(image, firstRow, rows, horizontal);
            }
            else
            {
                ResampleHorizontal(image, firstRow, rows, horizontal);
            }
        }
        if (height == image.Height)
        {
            rows.Pixels.AsSpan((window.Y - firstRow) * rows.Stride, output.Span.Length).CopyTo(output.Span);
        }
        else if (vectorized)
        {
            ResampleVerticalAvx2(rows, firstRow, output, vertical);
        }
        else
        {
            ResampleVertical(rows, firstRow, output, vertical);
        }
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
                var (start, count) = (c.Bounds[2 * x], c.Bounds[2 * x + 1]);
                var pixels = sourceRow.Slice(start * 4, count * 4);
                int r = Half, g = Half, b = Half;
                for (var i = 0; i < count; i++)
                {
                    var k = c.Weights[x * c.Size + i];
                    r += pixels[4 * i] * k;
                    g += pixels[4 * i + 1] * k;
                    b += pixels[4 * i + 2] * k;
                }
                targetRow[4 * x] = Clip(r);
                targetRow[4 * x + 1] = Clip(g);
                targetRow[4 * x + 2] = Clip(b);
            }
        }
    }

    /// <summary>One output pixel's four channels at a time, two source pixels a step (weights stored four times each).</summary>
    private static unsafe void ResampleHorizontalAvx2(RgbaImage source, int firstRow, RgbaImage target, Coefficients c)
    {
        fixed (byte* sourcePixels = source.Pixels, targetPixels = target.Pixels)
        fixed (int* weights = c.ChannelWeights)
        {
            for (var y = 0; y < target.Height; y++)
            {
                var sourceRow = sourcePixels + (firstRow + y) * source.Stride;
                var targetRow = (uint*)(targetPixels + y * target.Stride);
                for (var x = 0; x < target.Width; x++)
                {
                    var (start, count) = (c.Bounds[2 * x], c.Bounds[2 * x + 1]);
                    var pixels = sourceRow + start * 4;
                    var k = weights + x * c.Size * 4;
                    var pairs = Vector256<int>.Zero;
                    var i = 0;
                    for (; i + 2 <= count; i += 2)
                    {
                        pairs = Avx2.Add(pairs, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(pixels + i * 4), Avx.LoadVector256(k + i * 4)));
                    }
                    var sum = Sse2.Add(Sse2.Add(pairs.GetLower(), pairs.GetUpper()), Vector128.Create(Half));
                    if (i < count)
                    {
                        sum = Sse2.Add(sum, Sse41.MultiplyLow(Sse41.ConvertToVector128Int32(pixels + i * 4), Sse2.LoadVector128(k + i * 4)));
                    }
                    var shifted = Sse2.ShiftRightArithmetic(sum, PrecisionBits);
                    var bytes = Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(shifted, shifted), Vector128<short>.Zero);
                    targetRow[x] = bytes.AsUInt32().ToScalar();
                }
            }
        }
    }

    private static void ResampleVertical(RgbaImage source, int firstRow, RgbaImage target, Coefficients c)
    {
        var length = target.Stride;
        for (var y = 0; y < target.Height; y++)
        {
            var (start, count) = (c.Bounds[2 * y] - firstRow, c.Bounds[2 * y + 1]);
            for (var x = 0; x < length; x++)
            {
                var sum = Half;
                for (var i = 0; i < count; i++)
                {
                    sum += source.Pixels[(start + i) * source.Stride + x] * c.Weights[y * c.Size + i];
                }
                target.Pixels[y * length + x] = Clip(sum);
            }
        }
    }

    /// <summary>Each output row is a weighted sum of whole source rows: 32 bytes of the row at a time, in four registers of sums.</summary>
    private static unsafe void ResampleVerticalAvx2(RgbaImage source, int firstRow, RgbaImage target, Coefficients c)
    {
        var length = target.Stride;
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        fixed (byte* sourcePixels = source.Pixels, targetPixels = target.Pixels)
        {
            for (var y = 0; y < target.Height; y++)
            {
                var rows = sourcePixels + (c.Bounds[2 * y] - firstRow) * source.Stride;
                var count = c.Bounds[2 * y + 1];
                var weights = c.Weights.AsSpan(y * c.Size, count);
                var targetRow = targetPixels + y * length;
                var x = 0;
                for (; x + 32 <= length; x += 32)
                {
                    Vector256<int> s0 = Vector256.Create(Half), s1 = s0, s2 = s0, s3 = s0;
                    for (var i = 0; i < count; i++)
                    {
                        var p = rows + i * source.Stride + x;
                        var k = Vector256.Create(weights[i]);
                        s0 = Avx2.Add(s0, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), k));
                        s1 = Avx2.Add(s1, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 8), k));
                        s2 = Avx2.Add(s2, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 16), k));
                        s3 = Avx2.Add(s3, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p + 24), k));
                    }
                    // Packing works within 128-bit lanes: the permute puts the four 8-byte runs back in order.
                    var low = Avx2.PackSignedSaturate(Avx2.ShiftRightArithmetic(s0, PrecisionBits), Avx2.ShiftRightArithmetic(s1, PrecisionBits));
                    var high = Avx2.PackSignedSaturate(Avx2.ShiftRightArithmetic(s2, PrecisionBits), Avx2.ShiftRightArithmetic(s3, PrecisionBits));
                    var bytes = Avx2.PermuteVar8x32(Avx2.PackUnsignedSaturate(low, high).AsInt32(), order);
                    Avx.Store(targetRow + x, bytes.AsByte());
                }
                for (; x < length; x++)
                {
                    var sum = Half;
                    for (var i = 0; i < count; i++)
                    {
                        sum += rows[i * source.Stride + x] * weights[i];
                    }
                    targetRow[x] = Clip(sum);
                }
            }
        }
    }

    private static byte Clip(int value) => (byte)Math.Clamp(value >> PrecisionBits, 0, 255);

    /// <summary>Pillow's <c>precompute_coeffs</c> and <c>normalize_coeffs_8bpc</c>, for the outputs in a window; arrays rented, dispose it.</summary>
    private sealed class Coefficients : IDisposable
    {
        private Coefficients(int size, int windowLength)
        {
            Size = size;
            Bounds = ArrayPool<int>.Shared.Rent(windowLength * 2);
            Weights = ArrayPool<int>.Shared.Rent(windowLength * size);
            ChannelWeights = ArrayPool<int>.Shared.Rent(windowLength * size * 4);
        }

        /// <summary>First source pixel and count, per output pixel.</summary>
        public int[] Bounds { get; }

        /// <summary><see cref="Size"/> fixed-point weights per output pixel.</summary>
        public int[] Weights { get; }

        /// <summary><see cref="Weights"/> with each weight written four times, once per channel of an RGBA pixel.</summary>
        public int[] ChannelWeights { get; }

        public int Size { get; }

        public static Coefficients For(int inSize, int outSize, int windowStart, int windowLength)
        {
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = 1.0 * filterScale; // the bilinear filter's support is 1
            var size = (int)Math.Ceiling(support) * 2 + 1;
            var c = new Coefficients(size, windowLength);
            Span<double> k = size <= 512 ? stackalloc double[size] : new double[size];
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
                    var weight = (int)(w < 0 ? -0.5 + w * (1 << PrecisionBits) : 0.5 + w * (1 << PrecisionBits));
                    c.Weights[o * size + i] = weight;
                    c.ChannelWeights.AsSpan((o * size + i) * 4, 4).Fill(weight);
                }
                c.Bounds[2 * o] = min;
                c.Bounds[2 * o + 1] = max;
            }
            return c;
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(Bounds);
            ArrayPool<int>.Shared.Return(Weights);
            ArrayPool<int>.Shared.Return(ChannelWeights);
        }
    }
}
