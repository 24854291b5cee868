using System;
using Microsoft.ML.OnnxRuntime.Tensors;
using Serve.Runtime;
using SkiaSharp;

namespace Benchmarks.ImageBench;

/// <summary>
/// torchvision's ImageNet preprocessing: decode, resize the shorter side to 256 (bilinear),
/// crop the centre 224x224, scale to [0, 1] and normalize per channel; CHW float.
/// </summary>
public static class ImageInput
{
    public const int Side = 224;
    private const int Resize = 256;
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    public static DenseTensor<float> ToTensor(ReadOnlySpan<byte> bytes)
    {
        using var data = SKData.CreateCopy(bytes);
        using var decoded = SKBitmap.Decode(data) ?? throw new InvalidRequestException("The body is not an image.");
        var scale = (float)Resize / Math.Min(decoded.Width, decoded.Height);
        var (width, height) = ((int)Math.Round(decoded.Width * scale), (int)Math.Round(decoded.Height * scale));
        using var resized = decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None))
            ?? throw new InvalidRequestException("The image could not be resized.");

        var pixels = resized.GetPixelSpan();
        var (left, top) = ((width - Side) / 2, (height - Side) / 2);
        var values = new float[3 * Side * Side];
        for (var y = 0; y < Side; y++)
        {
            var row = pixels.Slice(((top + y) * width + left) * 4, Side * 4);
            for (var x = 0; x < Side; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    values[c * Side * Side + y * Side + x] = (row[x * 4 + c] / 255f - Mean[c]) / Std[c];
                }
            }
        }
        return new DenseTensor<float>(values, [3, Side, Side]);
    }
}
