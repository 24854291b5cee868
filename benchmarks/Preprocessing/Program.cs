// Times the image_classifier's preprocessing per image on one thread: the same work as
// torchvision_preprocess.py (PIL open, exif_transpose, convert("RGB"), Resize(256), CenterCrop(224),
// ToTensor, Normalize), whole and stage by stage (decode, resize + crop, to-tensor + normalize).
// Usage: dotnet run -c Release --project benchmarks/Preprocessing -- IMAGE...
using System;
using System.Diagnostics;
using System.IO;
using Serve.Handlers;
using Serve.Handlers.Vision;
using Serve.Runtime;
using SkiaSharp;

var files = args.Length > 0 ? args : throw new ArgumentException("Name one or more image files.");
var handler = new ImageClassifier();
foreach (var file in files)
{
    var request = new InferenceRequest(File.ReadAllBytes(file));
    var decoded = ImageDecoder.Decode(request.Body.Span);
    var cropped = ImageTransforms.ResizeAndCenterCrop(decoded, 256, 224);
    var (whole, best) = Time(() => handler.Preprocess(request).Dispose());
    var decode = Time(() => ImageDecoder.Decode(request.Body.Span));
    var resize = Time(() => ImageTransforms.ResizeAndCenterCrop(decoded, 256, 224));
    var normalize = Time(() => ImageTransforms.ToNormalizedTensor(cropped, ImageTransforms.ImageNetMean, ImageTransforms.ImageNetStd).Dispose());
    Console.WriteLine($"{Path.GetFileName(file)} ({decoded.Width}x{decoded.Height}): median {whole:F2} ms per image (best {best:F2}); stages, median/best: "
        + $"decode {decode.Median:F2}/{decode.Best:F2}, resize+crop {resize.Median:F3}/{resize.Best:F3}, to-tensor+normalize {normalize.Median:F3}/{normalize.Best:F3} ms");
    if (ScaledJpegSize(request.Body.ToArray()) is { } scaled)
    {
        // Not used by the handlers (it fails the parity bound, see docs/builtins.md): what it would save.
        var scaledDecode = Time(() => DecodeAt(request.Body.ToArray(), scaled));
        var scaledResize = Time(() => ImageTransforms.ResizeAndCenterCrop(DecodedAt(request.Body.ToArray(), scaled), 256, 224));
        Console.WriteLine($"  libjpeg scaled decode to {scaled.Width}x{scaled.Height}, median/best: decode {scaledDecode.Median:F2}/{scaledDecode.Best:F2} ms, "
            + $"decode+resize+crop {scaledResize.Median:F2}/{scaledResize.Best:F2} ms");
    }
}

// The smallest n/8 scale of a JPEG that keeps its shorter side at least 256, when smaller than the image.
static SKSizeI? ScaledJpegSize(byte[] bytes)
{
    using var codec = SKCodec.Create(new SKMemoryStream(bytes));
    if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg)
    {
        return null;
    }
    for (var n = 1; n < 8; n++)
    {
        var size = codec.GetScaledDimensions(n / 8f);
        if (Math.Min(size.Width, size.Height) >= 256)
        {
            return size.Width < codec.Info.Width ? size : null;
        }
    }
    return null;
}

static void DecodeAt(byte[] bytes, SKSizeI size) => DecodedAt(bytes, size);

static RgbaImage DecodedAt(byte[] bytes, SKSizeI size)
{
    using var codec = SKCodec.Create(new SKMemoryStream(bytes));
    var pixels = new byte[size.Width * size.Height * 4];
    var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
    try
    {
        codec.GetPixels(new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), handle.AddrOfPinnedObject());
    }
    finally
    {
        handle.Free();
    }
    return new RgbaImage(size.Width, size.Height, pixels);
}

// Median and best per call of 7 rounds, after a warm-up (JIT, tiering); rounds sized to ~50 ms.
static (double Median, double Best) Time(Action action)
{
    var warm = Stopwatch.GetTimestamp();
    for (var i = 0; i < 20; i++)
    {
        action();
    }
    var iterations = Math.Clamp((int)(50 / Math.Max(Stopwatch.GetElapsedTime(warm).TotalMilliseconds / 20, 1e-3)), 5, 5000);
    var times = new double[7];
    for (var round = 0; round < times.Length; round++)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < iterations; i++)
        {
            action();
        }
        times[round] = Stopwatch.GetElapsedTime(start).TotalMilliseconds / iterations;
    }
    Array.Sort(times);
    return (times[times.Length / 2], times[0]);
}
