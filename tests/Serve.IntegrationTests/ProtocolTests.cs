using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace Serve.IntegrationTests;

/// <summary>
/// The protocol adapters over real HTTP against the digits model: Open Inference Protocol v2
/// beside TorchServe REST (the same image gets the same answer through both), the bound
/// TorchServe route, and the OpenAPI description.
/// </summary>
public sealed class ProtocolTests(DigitsServer server) : IClassFixture<DigitsServer>
{
    private static readonly string Images = Path.Combine(AppContext.BaseDirectory, "images");
    private readonly HttpClient _client = server.Client;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Theory]
    [InlineData("/v2/health/live", "live")]
    [InlineData("/v2/health/ready", "ready")]
    public async Task Health_is_live_and_ready(string path, string property)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Json(await response.Content.ReadAsStringAsync()).GetProperty(property).GetBoolean());
    }

    [Fact]
    public async Task Server_metadata_names_the_binary_tensor_extension()
    {
        var json = Json(await _client.GetStringAsync("/v2"));

        Assert.Equal("serve", json.GetProperty("name").GetString());
        Assert.Equal(["binary_tensor_data"], json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("/v2/models/digits")]
    [InlineData("/v2/models/digits/versions/1.0")]
    public async Task Metadata_names_the_model_its_version_and_its_bytes_input(string path)
    {
        using var response = await _client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("digits", json.GetProperty("name").GetString());
        Assert.Equal(["1.0"], json.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("BYTES", json.GetProperty("inputs")[0].GetProperty("datatype").GetString());
    }

    [Fact]
    public async Task A_model_is_ready_by_name_and_by_version()
    {
        using var byName = await _client.GetAsync("/v2/models/digits/ready");
        using var byVersion = await _client.GetAsync("/v2/models/digits/versions/1.0/ready");

        Assert.True(Json(await byName.Content.ReadAsStringAsync()).GetProperty("ready").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, byVersion.StatusCode);
    }

    [Theory]
    [InlineData("/v2/models/nope", "Model not found: nope")]
    [InlineData("/v2/models/digits/versions/9.9", "Model version: 9.9 does not exist for model: digits (it serves 1.0)")]
    public async Task An_unknown_model_or_version_is_a_404_with_an_error(string path, string message)
    {
        using var response = await _client.GetAsync(path);
        using var infer = await _client.PostAsync(path + "/infer", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(message, Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, infer.StatusCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task Infer_with_a_base64_json_tensor_answers_as_the_torchserve_route_does(int digit)
    {
        var png = await File.ReadAllBytesAsync(Path.Combine(Images, $"{digit}.png"));
        var request = $$"""
            {"id": "req-{{digit}}", "inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
              "parameters": {"content_type": "base64"}, "data": ["{{Convert.ToBase64String(png)}}"]}]}
            """;

        using var oip = await _client.PostAsync("/v2/models/digits/infer", new StringContent(request, Encoding.UTF8, "application/json"));
        using var torchServe = await _client.PostAsync("/predictions/digits", new ByteArrayContent(png));

        Assert.Equal(HttpStatusCode.OK, oip.StatusCode);
        var json = Json(await oip.Content.ReadAsStringAsync());
        Assert.Equal("digits", json.GetProperty("model_name").GetString());
        Assert.Equal("1.0", json.GetProperty("model_version").GetString());
        Assert.Equal($"req-{digit}", json.GetProperty("id").GetString());
        var output = json.GetProperty("outputs")[0];
        Assert.Equal("BYTES", output.GetProperty("datatype").GetString());
        Assert.Equal("application/json", output.GetProperty("parameters").GetProperty("content_type").GetString());
        var prediction = output.GetProperty("data")[0].GetString()!;
        Assert.Equal(digit, Json(prediction).GetProperty("digit").GetInt32());
        Assert.Equal(await torchServe.Content.ReadAsStringAsync(), prediction);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public async Task Infer_with_an_fp32_json_tensor_of_intensities_answers_as_the_image_does(int digit)
    {
        var png = await File.ReadAllBytesAsync(Path.Combine(Images, $"{digit}.png"));
        var intensities = Samples.Digits.DigitImage.ToTensor(png).ToArray();
        var rows = Enumerable.Range(0, 8).Select(y => "[" + string.Join(", ", intensities.Skip(y * 8).Take(8).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]");
        var request = $$"""{"inputs": [{"name": "pixels", "shape": [1, 8, 8], "datatype": "FP32", "data": [[{{string.Join(", ", rows)}}]]}]}""";

        using var oip = await _client.PostAsync("/v2/models/digits/infer", new StringContent(request, Encoding.UTF8, "application/json"));
        using var torchServe = await _client.PostAsync("/predictions/digits", new ByteArrayContent(png));

        Assert.Equal(HttpStatusCode.OK, oip.StatusCode);
        var prediction = Json(await oip.Content.ReadAsStringAsync()).GetProperty("outputs")[0].GetProperty("data")[0].GetString()!;
        Assert.Equal(digit, Json(prediction).GetProperty("digit").GetInt32());
        Assert.Equal(await torchServe.Content.ReadAsStringAsync(), prediction);
    }

    [Fact]
    public async Task Infer_with_the_binary_tensor_extension_takes_the_image_as_sent()
    {
        var png = await File.ReadAllBytesAsync(Path.Combine(Images, "5.png"));
        var header = Encoding.UTF8.GetBytes(
            $$$"""{"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": {{{png.Length}}}}}]}""");
        var content = new ByteArrayContent([.. header, .. png]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var response = await _client.PostAsync("/v2/models/digits/infer", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var prediction = Json(await response.Content.ReadAsStringAsync()).GetProperty("outputs")[0].GetProperty("data")[0].GetString()!;
        Assert.Equal(5, Json(prediction).GetProperty("digit").GetInt32());
    }

    [Theory]
    [InlineData("""{"parameters": {"binary_data_output": true}, "inputs": [INPUT]}""")]
    [InlineData("""{"inputs": [INPUT], "outputs": [{"name": "output-0", "parameters": {"binary_data": true}}]}""")]
    public async Task Infer_answers_with_binary_data_when_asked(string template)
    {
        var png = await File.ReadAllBytesAsync(Path.Combine(Images, "4.png"));
        var input = $$"""{"name": "image", "shape": [1], "datatype": "BYTES", "parameters": {"content_type": "base64"}, "data": ["{{Convert.ToBase64String(png)}}"]}""";

        using var response = await _client.PostAsync("/v2/models/digits/infer", new StringContent(template.Replace("INPUT", input), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var output = JsonDocument.Parse(body.AsMemory(0, headerLength)).RootElement.GetProperty("outputs")[0];
        var size = output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32();
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(body.Length - headerLength, size);
        Assert.Equal(4, Json(Encoding.UTF8.GetString(body, headerLength, size)).GetProperty("digit").GetInt32());
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"outputs": []}""", "with an \"inputs\" array")]
    [InlineData("""{"inputs": []}""", "the request has 0")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": [0.5]}]}""", "Input 'x' has shape [1, 64], 64 elements, but holds 1")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [0.5, "a"]}]}""", "Input 'x' holds \"a\", which is not a FP32 value")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [2], "datatype": "FP33", "data": [0.5, 1]}]}""", "Input 'x' has datatype FP33")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": [0.5, 1, 0, 0]}]}""", "A digit is 8x8 = 64 intensities; the tensor holds 4")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [99999999999, 99999999999], "datatype": "FP32", "data": []}]}""", "more elements than a request can hold")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}""", "must hold exactly one string element; it holds 2 elements")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": [7]}]}""", "must hold exactly one string element; it holds a number")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "parameters": {"content_type": "base64"}, "data": ["%%%"]}]}""", "not valid base64")]
    [InlineData("""{"inputs": [{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["plain text is no image"]}]}""", "not an image")]
    public async Task A_bad_infer_request_is_a_400_saying_what_is_wrong(string body, string message)
    {
        using var response = await _client.PostAsync("/v2/models/digits/infer", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("/predictions/DIGITS", "DIGITS")]
    [InlineData("/predictions/Digits", "Digits")]
    public async Task Model_names_are_case_sensitive_on_the_bound_route_too(string path, string name)
    {
        using var response = await _client.PostAsync(path, new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(Images, "3.png"))));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"Model not found: {name}", Json(await response.Content.ReadAsStringAsync()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task The_openapi_description_lists_the_handler_response_schema()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("3.0.1", json.GetProperty("openapi").GetString());
        var post = json.GetProperty("paths").GetProperty("/predictions/digits").GetProperty("post");
        var schema = post.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Equal("#/components/schemas/Samples.Digits.DigitPrediction", schema.GetProperty("$ref").GetString());
        Assert.True(post.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.Equal("#/components/schemas/TorchServeError",
            post.GetProperty("responses").GetProperty("503").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());

        var prediction = json.GetProperty("components").GetProperty("schemas").GetProperty("Samples.Digits.DigitPrediction").GetProperty("properties");
        Assert.Equal("integer", prediction.GetProperty("digit").GetProperty("type").GetString());
        Assert.Equal("number", prediction.GetProperty("probability").GetProperty("type").GetString());
    }
}
