using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Inference;

namespace Serve.Grpc.Tests;

/// <summary>
/// gRPC calls are in the access log, in TorchServe's GRPCInterceptor form, and a prediction is
/// counted in ts_inference_requests_total as one over REST is (TorchServe's InferenceImpl counts them too).
/// </summary>
[Collection(GrpcServerCollection.Name)]
public sealed class GrpcAccountingTests(GrpcServer server)
{
    private const string Service = "org.pytorch.serve.grpc.inference.InferenceAPIsService";

    private readonly InferenceAPIsService.InferenceAPIsServiceClient _client = new(server.Inference);

    private static PredictionsRequest Digit(string model) => new()
    {
        ModelName = model,
        Input = { ["data"] = ByteString.CopyFrom(File.ReadAllBytes(GrpcServer.Fixture("images", "3.png"))) },
    };

    /// <summary>The access log's lines, once one holding <paramref name="expected"/> is written (the log is written in the background).</summary>
    private async Task<string[]> AccessLogWith(string expected)
    {
        for (var waited = 0; waited < 100; waited++)
        {
            if (File.Exists(server.AccessLog))
            {
                using var reader = new StreamReader(new FileStream(server.AccessLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                var lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (lines.Any(line => line.Contains(expected, StringComparison.Ordinal)))
                {
                    return lines;
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"No access-log line holding '{expected}' within 10 s.");
    }

    private async Task<double> DigitsRequestsCounted()
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(server.Config.MetricsAddress, "/metrics"));
        return text.Split('\n')
            .Where(line => line.StartsWith("ts_inference_requests_total{", StringComparison.Ordinal) && line.Contains("model_name=\"digits\"", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Calls_are_in_the_access_log_in_TorchServes_gRPC_form_with_their_status()
    {
        await _client.PredictionsAsync(Digit("digits"), GrpcServer.With(server.InferenceKey));
        var missing = await Assert.ThrowsAsync<RpcException>(() => _client.PredictionsAsync(Digit("no-such-model"), GrpcServer.With(server.InferenceKey)).ResponseAsync);
        await _client.PingAsync(new Empty(), GrpcServer.With(null));

        var lines = await AccessLogWith($"\"gRPC {Service}/Ping HTTP/2.0\" 0 ");

        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains(lines, line => line.Contains($" - /127.0.0.1:", StringComparison.Ordinal) && line.Contains($"\"gRPC {Service}/Predictions HTTP/2.0\" 0 ", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains($"\"gRPC {Service}/Predictions HTTP/2.0\" {(int)StatusCode.NotFound} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_prediction_is_counted_in_ts_inference_requests_total_as_over_REST()
    {
        var before = await DigitsRequestsCounted();

        await _client.PredictionsAsync(Digit("digits"), GrpcServer.With(server.InferenceKey));

        Assert.Equal(before + 1, await DigitsRequestsCounted());
    }
}
