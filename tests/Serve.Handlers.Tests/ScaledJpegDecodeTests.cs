using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Handlers.Vision;
using Serve.Runtime;
using SkiaSharp;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>
/// libjpeg's DCT-scaled decode (1/8 ... 7/8) of large photographs against the full decode PIL does,
/// measured on the model's input (max abs per element after normalization) and on its top-5.
/// The large JPEGs are made here from the committed photographs, so no large fixture is stored:
/// "upscaled" (each photograph enlarged to 3000x2000: smooth, as an over-sized upload) and
/// "tiled" (4 x 4 copies, 2560x1708: the photographs' own fine detail at full size).
/// The reference is our default path, which equals torchvision's tensor to the bit on every
/// parity image (PreprocessingParityTests). Every image exceeds the issue's parity bound (0.02 per
/// element) and the top-5 order changes, which is why the handlers do not offer the scaled decode;
/// this test keeps that finding true (docs/builtins.md has the numbers).
/// </summary>
public class ScaledJpegDecodeTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Photographs => new()
    {
        { "china.jpg", "upscaled" }, { "flower.jpg", "upscaled" }, { "china.jpg", "tiled" }, { "flower.jpg", "tiled" },
    };

    [Theory]
    [MemberData(nameof(Photographs))]
    public async Task Scaled_decode_against_the_full_decode(string name, string kind)
    {
        var jpeg = LargeJpeg(name, kind);
        using var full = ImageTransforms.ImageNetInput(new InferenceRequest(jpeg));
        using var scaled = ScaledDecodeInput(jpeg, 256);
        var difference = Fixtures.MaxAbsDifference(full.Span, scaled.Span);
        var mean = Enumerable.Range(0, (int)full.Length).Average(i => Math.Abs(full.Span[i] - scaled.Span[i]));
        var (fullTop5, scaledTop5) = (await Top5(full), await Top5(scaled));
        output.WriteLine($"{name} {kind}: max abs {difference:F4}, mean abs {mean:F5}, top-5 full [{string.Join(", ", fullTop5)}] scaled [{string.Join(", ", scaledTop5)}]");
        Assert.True(difference > 0.02f, $"{name} {kind}: the scaled decode is within the parity bound here (max abs {difference}); reconsider offering it.");
    }

    /// <summary>The classifier's input from a JPEG decoded at the smallest n/8 scale that keeps its shorter side at least <paramref name="shorterSide"/>.</summary>
    private static unsafe Tensor<float> ScaledDecodeInput(byte[] jpeg, int shorterSide)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(jpeg));
        var size = Enumerable.Range(1, 8).Select(n => codec.GetScaledDimensions(n / 8f)).First(s => Math.Min(s.Width, s.Height) >= shorterSide);
        Assert.True(size.Width < codec.Info.Width, "the test image is too small to be decoded at a scale");
        var pixels = new byte[size.Width * size.Height * 4];
        fixed (byte* destination = pixels)
        {
            Assert.Equal(SKCodecResult.Success, codec.GetPixels(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), (IntPtr)destination));
        }
        var cropped = ImageTransforms.ResizeAndCenterCrop(new RgbaImage(size.Width, size.Height, pixels), 256, 224);
        return ImageTransforms.ToNormalizedTensor(cropped, ImageTransforms.ImageNetMean, ImageTransforms.ImageNetStd);
    }

    private static async Task<int[]> Top5(Tensor<float> input)
    {
        var directory = Fixtures.ClassifierDirectory("classifier.onnx");
        try
        {
            var (_, context) = await ClassifierParityTests.Load(directory);
            var model = context.GetModel<Tensor<float>, Tensor<float>>();
            using var logits = await model.RunAsync(new Tensor<float>(input.Memory.ToArray(), 1, 3, 224, 224), CancellationToken.None);
            var top = Classification.TopK(logits.Row(0), 5);
            context.Model?.Dispose();
            return top;
        }
        finally
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A large JPEG (quality 90) made from a committed photograph, the same bytes on every run.</summary>
    internal static byte[] LargeJpeg(string name, string kind)
    {
        using var photo = SKBitmap.Decode(Fixtures.Image(name));
        var (width, height) = kind == "tiled" ? (photo.Width * 4, photo.Height * 4) : (3000, 2000);
        using var large = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(large))
        {
            using var image = SKImage.FromBitmap(photo);
            if (kind == "tiled")
            {
                for (var y = 0; y < 4; y++)
                {
                    for (var x = 0; x < 4; x++)
                    {
                        canvas.DrawImage(image, x * photo.Width, y * photo.Height, SKSamplingOptions.Default);
                    }
                }
            }
            else
            {
                canvas.DrawImage(image, new SKRect(0, 0, width, height), new SKSamplingOptions(SKCubicResampler.Mitchell));
            }
        }
        using var data = large.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}
