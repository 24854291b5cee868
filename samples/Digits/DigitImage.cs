using System;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve.Runtime;
using SkiaSharp;

namespace Samples.Digits;

/// <summary>
/// Decodes an image into the model's input: 8x8 grey levels in [0, 1], light ink on a dark
/// background like scikit-learn's digits. Bad input is an <see cref="InvalidRequestException"/>.
/// </summary>
public static class DigitImage
{
    public const int Side = 8;

    /// <summary>Larger images are refused before decoding, so a huge header cannot exhaust memory.</summary>
    public const int MaxSide = 4096;

    /// <summary>
    /// The most pixels decoded for one request (2048x2048): decoding costs about their number (a
    /// 4096x4096 PNG took 140-240 ms here, 2048x2048 about 50 ms), and until decoding leaves the
    /// model's worker every request waits behind it. An 8x8 model needs no more.
    /// </summary>
    public const int MaxPixels = 2048 * 2048;

    public static DenseTensor<float> ToTensor(ReadOnlySpan<byte> bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidRequestException("The body is not an image: send a PNG, JPEG, GIF, BMP or WebP of a digit.");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0 || width > MaxSide || height > MaxSide)
        {
            throw new InvalidRequestException($"The image is {width}x{height} pixels; images up to {MaxSide}x{MaxSide} are accepted.");
        }
        if ((long)width * height > MaxPixels)
        {
            throw new InvalidRequestException($"The image is {width}x{height} = {(long)width * height} pixels; at most {MaxPixels} (e.g. 2048x2048) are decoded per request. Scale it down first.");
        }

        using var decoded = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var status = codec.GetPixels(decoded.Info, decoded.GetPixels());
        if (status != SKCodecResult.Success)
        {
            throw new InvalidRequestException($"The image could not be decoded ({status}); it may be truncated or corrupt.");
        }

        using var scaled = width == Side && height == Side
            ? null
            : decoded.Resize(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        var pixels = (scaled ?? decoded).GetPixelSpan();

        var values = new float[Side * Side];
        for (var i = 0; i < values.Length; i++)
        {
            // PIL's convert("L") weights, so a grey PNG keeps its exact levels.
            var p = pixels.Slice(i * 4, 4);
            values[i] = ((p[0] * 299 + p[1] * 587 + p[2] * 114 + 500) / 1000) / 255f;
        }
        if (BorderMean(values) > 0.5f)
        {
            // Dark ink on a light background (a scan, a drawing): flip it to the data set's polarity.
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = 1f - values[i];
            }
        }
        return new DenseTensor<float>(values, [1, Side, Side]);
    }

    /// <summary>64 intensities in [0, 1], row by row, light ink on dark.</summary>
    public static DenseTensor<float> FromIntensities(float[] values)
    {
        if (values.Length != Side * Side)
        {
            throw new InvalidRequestException($"A digit is {Side}x{Side} = {Side * Side} intensities; the tensor holds {values.Length}.");
        }
        foreach (var value in values)
        {
            if (!(value >= 0f && value <= 1f))
            {
                throw new InvalidRequestException($"Intensities are between 0 and 1; the tensor holds {value}.");
            }
        }
        return new DenseTensor<float>(values, [1, Side, Side]);
    }

    private static float BorderMean(float[] values)
    {
        var sum = 0f;
        var count = 0;
        for (var y = 0; y < Side; y++)
        {
            for (var x = 0; x < Side; x++)
            {
                if (x == 0 || y == 0 || x == Side - 1 || y == Side - 1)
                {
                    sum += values[y * Side + x];
                    count++;
                }
            }
        }
        return sum / count;
    }
}
