using System;
using System.IO;
using Samples.Digits;
using Serve.Runtime;
using SkiaSharp;

namespace Serve.IntegrationTests;

/// <summary>
/// The sample's decoder: images with an alpha channel read as PIL's <c>convert("L")</c> reads
/// them (alpha dropped, the colour channels as stored; the expected images are PIL's own output,
/// fixtures/make_alpha_images.py), and the pixels decoded per request are bounded.
/// </summary>
public sealed class DigitImageTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "alpha");

    [Theory]
    [InlineData("ink-on-transparent-white")]
    [InlineData("ink-only-in-alpha")]
    [InlineData("grey-half-transparent")]
    public void An_image_with_alpha_reads_as_pil_reads_it(string name)
    {
        var withAlpha = DigitImage.ToTensor(File.ReadAllBytes(Path.Combine(Fixtures, name + ".png"))).Buffer.ToArray();
        var asPilReadsIt = DigitImage.ToTensor(File.ReadAllBytes(Path.Combine(Fixtures, name + ".expected.png"))).Buffer.ToArray();

        Assert.Equal(asPilReadsIt.Length, withAlpha.Length);
        for (var i = 0; i < withAlpha.Length; i++)
        {
            Assert.True(Math.Abs(asPilReadsIt[i] - withAlpha[i]) < 1e-6f, $"pixel {i}: {withAlpha[i]} with alpha, {asPilReadsIt[i]} as PIL reads it");
        }
    }

    // Defect 7's per-request bound: a valid image over the pixel budget is refused before decoding.
    [Fact]
    public void A_valid_image_over_the_pixel_budget_is_refused_and_one_within_it_is_read()
    {
        var over = Assert.Throws<InvalidRequestException>(() => DigitImage.ToTensor(WhitePng(4096, 1025)));
        Assert.Contains("4096x1025 = 4198400 pixels; at most 4194304", over.Message);

        var within = DigitImage.ToTensor(WhitePng(2048, 2048));
        Assert.Equal(new[] { 1, 8, 8 }, within.Dimensions.ToArray());
    }

    private static byte[] WhitePng(int width, int height)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        bitmap.Erase(SKColors.White);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
