using System.Linq;
using Serve.Runtime;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>Our decode, resize, crop and normalize against torchvision's Compose on the same files.</summary>
public class PreprocessingParityTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Fixtures.Images), MemberType = typeof(Fixtures))]
    public void Preprocess_matches_torchvision_within_0_02(string image)
    {
        using var ours = new ImageClassifier().Preprocess(new InferenceRequest(Fixtures.Image(image)));
        Assert.Equal([3L, 224L, 224L], ours.Shape.ToArray());
        var reference = Fixtures.TorchvisionTensor(image);
        var difference = Fixtures.MaxAbsDifference(ours.Span, reference);
        var exact = Enumerable.Range(0, reference.Length).Count(i => ours.Span[i] == reference[i]);
        output.WriteLine($"{image}: max abs difference {difference:G4}, {100.0 * exact / reference.Length:F2}% of elements identical");
        Assert.InRange(difference, 0f, 0.02f);
    }

    [Fact]
    public void Lossless_images_match_torchvision_bit_for_bit()
    {
        // PNG, BMP and GIF decode to the same bytes everywhere, so any difference would be ours.
        foreach (var image in new[] { "digit3.png", "china_rgba.png", "flower_palette.png", "flower.bmp", "flower.gif" })
        {
            using var ours = new ImageClassifier().Preprocess(new InferenceRequest(Fixtures.Image(image)));
            Assert.Equal(0f, Fixtures.MaxAbsDifference(ours.Span, Fixtures.TorchvisionTensor(image)));
        }
    }
}
