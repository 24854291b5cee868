using System;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace Serve.TorchServe.Tests;

/// <summary><c>/v2/models/{m}[/versions/{v}]/explain</c>, which TorchServe's KServe v2 API serves beside infer: the handler's [Explain] stage.</summary>
public sealed class OpenInferenceExplainTests
{
    [Theory]
    [InlineData("/v2/models/sized/explain")]
    [InlineData("/v2/models/sized/versions/1.0/explain")]
    public async Task Explain_runs_the_handlers_explain_stage_and_answers_as_infer_does(string path)
    {
        await using var server = await EchoServer.StartAsync();
        using var client = new HttpClient();
        var body = """{"id": "e1", "inputs": [{"name": "input-0", "shape": [1], "datatype": "BYTES", "data": ["5"]}]}""";

        using var response = await client.PostAsync(new Uri(server.Config.InferenceAddress, path), new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(("e1", "sized", "1.0"), (answer.GetProperty("id").GetString(), answer.GetProperty("model_name").GetString(), answer.GetProperty("model_version").GetString()));
        Assert.Equal("xxxxx", Encoding.ASCII.GetString(Convert.FromBase64String(answer.GetProperty("outputs")[0].GetProperty("data")[0].GetString()!)));
    }
}
