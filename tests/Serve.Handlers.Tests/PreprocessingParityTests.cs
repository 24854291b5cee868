using System.Linq;
using Serve.Runtime;
using Xunit.Abstractions;

namespace Serve.Handlers.Tests;

/// <summary>Our decode, resize, crop and normalize against torchvision's Compose on the same files.</summary>
public class PreprocessingParityTests(ITestOutputHelper output)
{
    /// <summary>
    /// The bound is 0.02 per element; the default path does better: every element equals
    /// torchvision's (SkiaSharp's libjpeg-turbo and libwebp decode to Pillow's bytes here, and the
    /// resize and normalize are Pillow's and PyTorch's arithmetic), so any difference is a defect.
    /// </summary>
    [Theory]
    [MemberData(nameof(Fixtures.Images), MemberType = typeof(Fixtures))]
    public void Preprocess_equals_torchvision_to_the_bit(string image)
    {
        using var ours = new ImageClassifier().Preprocess(new InferenceRequest(Fixtures.Image(image)));
        Assert.Equal([3L, 224L, 224L], ours.Shape.ToArray());
        var reference = Fixtures.TorchvisionTensor(image);
        var difference = Fixtures.MaxAbsDifference(ours.Span, reference);
        var exact = Enumerable.Range(0, reference.Length).Count(i => ours.Span[i] == reference[i]);
        output.WriteLine($"{image}: max abs difference {difference:G4}, {100.0 * exact / reference.Length:F2}% of elements identical");
        Assert.Equal(reference.Length, exact);
    }
}
