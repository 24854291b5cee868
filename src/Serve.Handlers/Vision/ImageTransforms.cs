using System;
using System.Runtime.Intrinsics;
using Serve.Runtime;

namespace Serve.Handlers.Vision;

/// <summary>
/// torchvision's transforms on a PIL image, computed as torchvision computes them:
/// <c>Resize(n)</c> (shorter side to n, Pillow's bilinear), <c>CenterCrop(n)</c>,
/// <c>ToTensor()</c> and <c>Normalize(mean, std)</c>.
/// </summary>
public static class ImageTransforms
{
    /// <summary>ImageNet's channel means and deviations, as TorchServe's image handlers use them.</summary>
    public static ReadOnlySpan<float> ImageNetMean => [0.485f, 0.456f, 0.406f];

    public static ReadOnlySpan<float> ImageNetStd => [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// TorchServe's image_classifier and image_segmenter input:
    /// <c>Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(imagenet)])</c> on the request's image,
    /// or a tensor the request sends instead of an image, as it is (<see cref="TensorInput"/>).
    /// </summary>
    /// <exception cref="InvalidRequestException">The request holds no usable image.</exception>
    public static Tensor<float> ImageNetInput(InferenceRequest request)
    {
        if (TensorInput.TryRead(request, out var tensor))
        {
            return tensor;
        }
        // The decoded and resized images are rented and returned here; only the tensor is allocated.
        using var image = ImageDecoder.Decode(ImageRequest.ImageBytes(request).Span, pooled: true);
        using var cropped = ResizeAndCenterCrop(image, 256, 224, pooled: true);
        return ToNormalizedTensor(cropped, ImageNetMean, ImageNetStd);
    }

    /// <summary>
    /// The size <c>Resize(shorterSide)</c> gives: the shorter side becomes <paramref name="shorterSide"/>
    /// and the longer keeps the aspect ratio, truncated as torchvision's <c>int(size * long / short)</c>.
    /// </summary>
    public static (int Width, int Height) ResizedSize(int width, int height, int shorterSide)
    {
        var (shorter, longer) = width <= height ? (width, height) : (height, width);
        var newLonger = (int)((double)shorterSide * longer / shorter);
        return width <= height ? (shorterSide, newLonger) : (newLonger, shorterSide);
    }

    /// <summary>
    /// <c>Compose([Resize(resize), CenterCrop(crop)])</c>: only the cropped pixels of the resized
    /// image are computed, each exactly as Pillow computes it.
    /// </summary>
    public static RgbaImage ResizeAndCenterCrop(RgbaImage image, int resize, int crop) => ResizeAndCenterCrop(image, resize, crop, pooled: false);

    private static RgbaImage ResizeAndCenterCrop(RgbaImage image, int resize, int crop, bool pooled)
    {
        var (width, height) = ResizedSize(image.Width, image.Height, resize);
        if (width < crop || height < crop)
        {
            throw new InvalidRequestException($"The image resized to {width}x{height} is smaller than the {crop}x{crop} crop.");
        }
        // torchvision: int(round((h - crop) / 2.0)), Python's round: halves to even, as Math.Round.
        var top = (int)Math.Round((height - crop) / 2.0);
        var left = (int)Math.Round((width - crop) / 2.0);
        return PillowResize.Resize(image, width, height, (left, top, crop, crop), pooled, System.Runtime.Intrinsics.X86.Avx2.IsSupported);
    }

    /// <summary>
    /// <c>Normalize(mean, std)(ToTensor()(image))</c>: a 3 x H x W float tensor, each value
    /// (byte / 255 - mean) / std in float arithmetic as PyTorch does it (a division, a subtraction
    /// and a division, each rounded to float), eight pixels at a time where the processor allows.
    /// Its memory is rented (<see cref="Tensor{T}.Rent"/>): disposing the tensor gives it back, as a
    /// generated handler does once its model has run it.
    /// </summary>
    public static Tensor<float> ToNormalizedTensor(RgbaImage image, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        var plane = image.Width * image.Height;
        var tensor = Tensor<float>.Rent(3, image.Height, image.Width);
        var values = tensor.Span;
        // One pixel a uint: R in the low byte (little-endian, as every platform .NET runs on here).
        var pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(image.Span);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var bytes = Vector256.Create(0xFFu);
            var (meanR, meanG, meanB) = (Vector256.Create(mean[0]), Vector256.Create(mean[1]), Vector256.Create(mean[2]));
            var (stdR, stdG, stdB) = (Vector256.Create(std[0]), Vector256.Create(std[1]), Vector256.Create(std[2]));
            var scale = Vector256.Create(255f);
            for (; i + Vector256<uint>.Count <= plane; i += Vector256<uint>.Count)
            {
                var rgba = Vector256.Create(pixels.Slice(i, Vector256<uint>.Count));
                var r = Vector256.ConvertToSingle((rgba & bytes).AsInt32());
                var g = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(rgba, 8) & bytes).AsInt32());
                var b = Vector256.ConvertToSingle((Vector256.ShiftRightLogical(rgba, 16) & bytes).AsInt32());
                ((r / scale - meanR) / stdR).CopyTo(values[i..]);
                ((g / scale - meanG) / stdG).CopyTo(values[(plane + i)..]);
                ((b / scale - meanB) / stdB).CopyTo(values[(2 * plane + i)..]);
            }
        }
        for (; i < plane; i++)
        {
            var rgba = pixels[i];
            values[i] = ((rgba & 0xFF) / 255f - mean[0]) / std[0];
            values[plane + i] = ((rgba >> 8 & 0xFF) / 255f - mean[1]) / std[1];
            values[2 * plane + i] = ((rgba >> 16 & 0xFF) / 255f - mean[2]) / std[2];
        }
        return tensor;
    }

    /// <summary><c>ToTensor()</c> alone: a 3 x H x W float tensor of byte / 255.</summary>
    public static Tensor<float> ToTensor(RgbaImage image) => ToNormalizedTensor(image, [0f, 0f, 0f], [1f, 1f, 1f]);
}
