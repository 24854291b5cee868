using System;
using System.IO;

namespace Serve.TorchServe.Tests;

public sealed class ModelUrlPolicyTests
{
    private static readonly ModelUrlPolicy Policy = new(["https://models.example.com/.*", "file:///srv/models/.*"], "/srv/store");

    [Theory]
    [InlineData("https://models.example.com/resnet.mar", "https://models.example.com/resnet.mar", true)]
    [InlineData("file:///srv/models/a.mar", "/srv/models/a.mar", false)]
    [InlineData("resnet.mar", "/srv/store/resnet.mar", false)]
    [InlineData("sub/resnet.mar", "/srv/store/sub/resnet.mar", false)]
    public void An_allowed_url_says_where_to_read_from(string url, string location, bool remote)
    {
        Assert.Equal(new ModelSource(location, remote), Policy.Check(url));
    }

    [Theory]
    // The pattern must match the whole URL, as Java's String.matches does.
    [InlineData("https://evil.example.com/?from=https://models.example.com/x.mar", "matches none of allowed_urls")]
    [InlineData("http://models.example.com/resnet.mar", "matches none of allowed_urls")]
    [InlineData("file:///etc/passwd", "matches none of allowed_urls")]
    // CVE-2024-35198: '..' after an allowed prefix.
    [InlineData("https://models.example.com/../../evil.mar", "'..' path segment")]
    [InlineData("https://models.example.com/%2e%2e/evil.mar", "'..' path segment")]
    [InlineData("https://models.example.com/%252e%252e/evil.mar", "'..' path segment")]
    [InlineData("file:///srv/models/../../etc/passwd", "'..' path segment")]
    [InlineData("../store2/x.mar", "'..' path segment")]
    [InlineData("/etc/passwd", "inside the model store")]
    [InlineData("", "url is required")]
    public void A_url_outside_the_allowed_set_is_refused_with_the_reason(string url, string reason)
    {
        var e = Assert.Throws<ModelUrlRefusedException>(() => Policy.Check(url));

        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void A_scheme_other_than_http_or_file_is_refused_even_when_a_pattern_allows_it()
    {
        var policy = new ModelUrlPolicy([".*"], null);

        Assert.Contains("only http://, https:// and file://", Assert.Throws<ModelUrlRefusedException>(() => policy.Check("ftp://x/y.mar")).Message);
        Assert.Contains("no model store is configured", Assert.Throws<ModelUrlRefusedException>(() => policy.Check("y.mar")).Message);
    }

    [Fact]
    public void TorchServes_default_patterns_set_as_allowed_urls_allow_any_http_url_and_local_file()
    {
        var policy = new ModelUrlPolicy(TorchServeConfig.DefaultAllowedUrls, null);

        Assert.True(policy.Check("https://anywhere.example/x.mar").IsRemote);
        Assert.Equal(Path.GetFullPath("/tmp/x.mar"), policy.Check("file:///tmp/x.mar").Location);
    }
}
