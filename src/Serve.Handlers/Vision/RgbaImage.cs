using System;
using System.Buffers;

namespace Serve.Handlers.Vision;

/// <summary>
/// A decoded image as 8-bit RGBA pixels, row-major, 4 bytes a pixel: the layout Pillow keeps an
/// RGB image in (its fourth byte unused), so its resampling arithmetic carries over unchanged.
/// Alpha is ignored, as PIL's <c>convert("RGB")</c> drops it.
/// </summary>
/// <remarks>
/// The preprocessing's intermediate images are rented from <see cref="ArrayPool{T}.Shared"/>
/// (<see cref="Rent"/>) and returned by <see cref="Dispose"/>, so a request allocates no
/// megabyte-sized pixel buffers; their <see cref="Pixels"/> may be longer than the image.
/// An image made with the public constructor owns its array and <see cref="Dispose"/> does nothing.
/// </remarks>
public sealed class RgbaImage : IDisposable
{
    private bool _rented;

    public RgbaImage(int width, int height, byte[] pixels)
        : this(width, height, pixels, rented: false)
    {
        if ((long)width * height * 4 != pixels.Length)
        {
            throw new ArgumentException($"A {width}x{height} RGBA image has {(long)width * height * 4} bytes, not {pixels.Length}.", nameof(pixels));
        }
    }

    private RgbaImage(int width, int height, byte[] pixels, bool rented)
    {
        Width = width;
        Height = height;
        Pixels = pixels;
        _rented = rented;
    }

    /// <summary>An image of uninitialized pixels from the shared pool; dispose it to give them back.</summary>
    internal static RgbaImage Rent(int width, int height) =>
        new(width, height, ArrayPool<byte>.Shared.Rent(checked(width * height * 4)), rented: true);

    public int Width { get; }

    public int Height { get; }

    /// <summary>R, G, B, A bytes, row after row (the first <c>Width * Height * 4</c> of them).</summary>
    public byte[] Pixels { get; }

    /// <summary>The image's bytes: <see cref="Pixels"/> without a pooled array's spare end.</summary>
    public Span<byte> Span => Pixels.AsSpan(0, Height * Stride);

    public int Stride => Width * 4;

    /// <summary>Returns a rented image's pixels to the pool; the image must not be used after.</summary>
    public void Dispose()
    {
        if (_rented)
        {
            _rented = false;
            ArrayPool<byte>.Shared.Return(Pixels);
        }
    }
}
