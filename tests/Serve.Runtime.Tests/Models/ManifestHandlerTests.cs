using Serve.Runtime;

namespace Serve.Runtime.Tests.Models;

public sealed class ManifestHandlerTests
{
    [Theory]
    [InlineData("image_classifier", "image_classifier")]
    [InlineData("digits", "digits")]
    [InlineData("digits.py", "digits")]
    [InlineData("handlers/digits.py", "digits")]
    [InlineData("digits.py:handle", "digits")]
    [InlineData("my.handler", "my.handler")]
    public void A_manifest_handler_names_a_compiled_handler(string manifest, string registered)
    {
        Assert.Equal(registered, ManifestHandler.RegisteredName(manifest));
    }
}
