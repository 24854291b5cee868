namespace Serve.Handlers.Vision;

/// <summary>
/// A decoded image as 8-bit RGBA pixels, row-major, 4 bytes a pixel: the layout Pillow keeps an
/// RGB image in (its fourth byte unused), so its resampling arithmetic carries over unchanged.
/// Alpha is ignored, as PIL's <c>convert("RGB")</c> drops it.
/// </summary>
public sealed class RgbaImage
{
    public RgbaImage(int width, int height, byte[] pixels)
    {
        if ((long)width * height * 4 != pixels.Length)
        {
            throw new System.ArgumentException($"A {width}x{height} RGBA image has {(long)width * height * 4} bytes, not {pixels.Length}.", nameof(pixels));
        }
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>R, G, B, A bytes, row after row.</summary>
    public byte[] Pixels { get; }

    public int Stride => Width * 4;
}
