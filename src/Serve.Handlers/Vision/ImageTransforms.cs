using System;
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
    /// <c>Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(imagenet)])</c> on the request's image.
    /// </summary>
    /// <exception cref="InvalidRequestException">The request holds no usable image.</exception>
    public static Tensor<float> ImageNetInput(InferenceRequest request)
    {
        var image = ImageDecoder.Decode(ImageRequest.ImageBytes(request).Span);
        var cropped = ResizeAndCenterCrop(image, 256, 224);
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
    public static RgbaImage ResizeAndCenterCrop(RgbaImage image, int resize, int crop)
    {
        var (width, height) = ResizedSize(image.Width, image.Height, resize);
        if (width < crop || height < crop)
        {
            throw new InvalidRequestException($"The image resized to {width}x{height} is smaller than the {crop}x{crop} crop.");
        }
        // torchvision: int(round((h - crop) / 2.0)), Python's round: halves to even, as Math.Round.
        var top = (int)Math.Round((height - crop) / 2.0);
        var left = (int)Math.Round((width - crop) / 2.0);
        return PillowResize.Resize(image, width, height, (left, top, crop, crop));
    }

    /// <summary>
    /// <c>Normalize(mean, std)(ToTensor()(image))</c>: a 3 x H x W float tensor, each value
    /// (byte / 255 - mean) / std in float arithmetic as PyTorch does it, through a lookup table per channel.
    /// </summary>
    public static Tensor<float> ToNormalizedTensor(RgbaImage image, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        Span<float> table = stackalloc float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            for (var v = 0; v < 256; v++)
            {
                table[c * 256 + v] = (v / 255f - mean[c]) / std[c];
            }
        }
        var plane = image.Width * image.Height;
        var values = new float[3 * plane];
        var pixels = image.Pixels;
        var red = values.AsSpan(0, plane);
        var green = values.AsSpan(plane, plane);
        var blue = values.AsSpan(2 * plane, plane);
        for (var i = 0; i < plane; i++)
        {
            red[i] = table[pixels[4 * i]];
            green[i] = table[256 + pixels[4 * i + 1]];
            blue[i] = table[512 + pixels[4 * i + 2]];
        }
        return new Tensor<float>(values, 3, image.Height, image.Width);
    }

    /// <summary><c>ToTensor()</c> alone: a 3 x H x W float tensor of byte / 255.</summary>
    public static Tensor<float> ToTensor(RgbaImage image) => ToNormalizedTensor(image, [0f, 0f, 0f], [1f, 1f, 1f]);
}
