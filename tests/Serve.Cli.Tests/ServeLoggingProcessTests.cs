using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Serve.Tests;

namespace Serve.Cli.Tests;

/// <summary>
/// `serve start` as a process: TorchServe's access log in logs/access_log.log, ASP.NET Core's
/// per-request lines off unless Logging:LogLevel asks for them, and TS_ variables read with
/// enable_envvars_config=true.
/// </summary>
public sealed class ServeLoggingProcessTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private Task<(int Code, string Output, string Error)> Serve(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        ServeProcess.RunAsync(_temp, environment, args);

    /// <summary>Starts in the background with the inference address from TS_INFERENCE_ADDRESS, sends a ping and a 404, stops.</summary>
    private async Task<int> ServeTwoRequests(Dictionary<string, string> environment)
    {
        var port = FreePort.Next();
        File.WriteAllText(_temp["config.properties"], $"""
            enable_envvars_config=true
            inference_address=http://127.0.0.1:1
            management_address=http://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            grpc_inference_port=0
            grpc_management_port=0
            disable_token_authorization=true
            """);
        environment["TS_INFERENCE_ADDRESS"] = $"http://127.0.0.1:{port}";

        var started = await Serve(environment, "start", "--ts-config", "config.properties");
        Assert.True(started.Code == 0, started.Error);
        try
        {
            using var client = new HttpClient();
            using var ping = await client.GetAsync($"http://127.0.0.1:{port}/ping");
            using var missing = await client.PostAsync($"http://127.0.0.1:{port}/predictions/nope?x=1", new ByteArrayContent([1]));
            Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        finally
        {
            Assert.Equal(0, (await Serve(environment, "stop")).Code);
        }
        return port;
    }

    [Fact]
    public async Task Requests_go_to_the_access_log_in_TorchServes_format_and_not_to_the_server_log()
    {
        await ServeTwoRequests([]);

        var access = File.ReadAllText(_temp["logs/access_log.log"]);
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} - /127\.0\.0\.1:\d+ ""GET /ping HTTP/1\.1"" 200 \d+$", access);
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} - /127\.0\.0\.1:\d+ ""POST /predictions/nope\?x=1 HTTP/1\.1"" 404 \d+$", access);
        var log = File.ReadAllText(_temp["logs/serve.log"]);
        Assert.Contains("Serving 0 model(s)", log);
        Assert.DoesNotContain("Request starting", log);
    }

    [Fact]
    public async Task Logging_LogLevel_from_the_environment_turns_ASP_NET_Cores_request_lines_back_on()
    {
        await ServeTwoRequests(new() { ["Logging__LogLevel__Microsoft.AspNetCore"] = "Information" });

        Assert.Contains("Request starting HTTP/1.1 POST", File.ReadAllText(_temp["logs/serve.log"]));
    }
}
