using System;
using System.Linq;
using System.Text;
using Serve.Handlers.Vision;
using Serve.Runtime;

namespace Serve.Handlers.Tests;

/// <summary>The body forms TorchServe's VisionHandler takes, as its worker hands them over.</summary>
public class ImageBodyTests
{
    private static readonly byte[] Jpeg = Fixtures.Image("china.jpg");

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("TEXT/PLAIN")]
    public void A_base64_text_body_is_the_image_it_encodes(string contentType)
    {
        var body = Encoding.ASCII.GetBytes(Convert.ToBase64String(Jpeg));
        Assert.Equal(Jpeg, ImageRequest.ImageBytes(new InferenceRequest(body, contentType)).ToArray());
    }

    [Fact]
    public void Line_breaks_in_base64_text_are_skipped_as_Pythons_b64decode_skips_them()
    {
        var body = Encoding.ASCII.GetBytes(Convert.ToBase64String(Jpeg, Base64FormattingOptions.InsertLineBreaks) + "\n");
        Assert.Equal(Jpeg, ImageRequest.ImageBytes(new InferenceRequest(body, "text/plain")).ToArray());
        Assert.Equal(
            new ImageClassifier().Preprocess(new InferenceRequest(Jpeg)).Memory.ToArray(),
            new ImageClassifier().Preprocess(new InferenceRequest(body, "text/plain")).Memory.ToArray());
    }

    [Fact]
    public void Image_bytes_sent_as_text_are_not_UTF8_and_stay_bytes()
    {
        Assert.Equal(Jpeg, ImageRequest.ImageBytes(new InferenceRequest(Jpeg, "text/plain")).ToArray());
    }

    [Fact]
    public void Base64_without_a_text_content_type_is_not_guessed()
    {
        var body = Encoding.ASCII.GetBytes(Convert.ToBase64String(Jpeg));
        Assert.Equal(body, ImageRequest.ImageBytes(new InferenceRequest(body, "application/octet-stream")).ToArray());
        var error = Assert.Throws<InvalidRequestException>(() => new ImageClassifier().Preprocess(new InferenceRequest(body)));
        Assert.Contains("not an image", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hello, this is not base64")]
    [InlineData("QUJD*RA==")]
    [InlineData("élan")]
    public void Text_that_is_not_base64_is_a_400_saying_so(string text)
    {
        var error = Assert.Throws<InvalidRequestException>(() => ImageRequest.ImageBytes(new InferenceRequest(Encoding.UTF8.GetBytes(text), "text/plain")));
        Assert.Contains("sent as text/plain", error.Message, StringComparison.Ordinal);
        Assert.Contains("not valid base64", error.Message, StringComparison.Ordinal);
    }
}
