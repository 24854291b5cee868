using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Inference;
using Org.Pytorch.Serve.Grpc.Management;
using Org.Pytorch.Serve.Grpc.Openinference;

namespace Serve.Grpc.Tests;

/// <summary>
/// Every RPC of the three services without a key, with a wrong one and with the other API's:
/// UNAUTHENTICATED with a message that says which key to send (Ping excepted, as REST's /ping);
/// and each service answers only on its own listener.
/// </summary>
[Collection(GrpcServerCollection.Name)]
public sealed class AuthorizationTests(GrpcServer server)
{
    /// <summary>Each RPC of the three services, called with the given options; the key each one needs.</summary>
    private IEnumerable<(string Rpc, string Key, Func<CallOptions, Task> Call)> Rpcs()
    {
        var inference = new InferenceAPIsService.InferenceAPIsServiceClient(server.Inference);
        var management = new ManagementAPIsService.ManagementAPIsServiceClient(server.Management);
        var open = new GRPCInferenceService.GRPCInferenceServiceClient(server.Inference);
        var predict = new PredictionsRequest { ModelName = "digits", Input = { ["data"] = Google.Protobuf.ByteString.CopyFrom(System.IO.File.ReadAllBytes(GrpcServer.Fixture("images", "3.png"))) } };
        string i = server.InferenceKey, m = server.ManagementKey;
        return
        [
            ("Predictions", i, o => inference.PredictionsAsync(predict, o).ResponseAsync),
            ("StreamPredictions", i, async o =>
            {
                using var call = inference.StreamPredictions(predict, o);
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }),
            ("StreamPredictions2", i, async o =>
            {
                using var call = inference.StreamPredictions2(o);
                try
                {
                    await call.RequestStream.WriteAsync(new PredictionsRequest(predict) { SequenceId = "s" });
                    await call.RequestStream.CompleteAsync();
                }
                catch (RpcException)
                {
                    // The server may end the call before the request goes out (a refused key): reading the answer gives its status.
                }
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }),
            ("ServerLive", i, o => open.ServerLiveAsync(new ServerLiveRequest(), o).ResponseAsync),
            ("ServerReady", i, o => open.ServerReadyAsync(new ServerReadyRequest(), o).ResponseAsync),
            ("ModelReady", i, o => open.ModelReadyAsync(new ModelReadyRequest { Name = "digits" }, o).ResponseAsync),
            ("ServerMetadata", i, o => open.ServerMetadataAsync(new ServerMetadataRequest(), o).ResponseAsync),
            ("ModelMetadata", i, o => open.ModelMetadataAsync(new ModelMetadataRequest { Name = "digits" }, o).ResponseAsync),
            ("ModelInfer", i, o => open.ModelInferAsync(new ModelInferRequest { ModelName = "digits", Inputs = { new ModelInferRequest.Types.InferInputTensor { Datatype = "BYTES", Contents = new() { BytesContents = { predict.Input["data"] } } } } }, o).ResponseAsync),
            ("DescribeModel", m, o => management.DescribeModelAsync(new DescribeModelRequest { ModelName = "digits" }, o).ResponseAsync),
            ("ListModels", m, o => management.ListModelsAsync(new ListModelsRequest(), o).ResponseAsync),
            // A register, unregister and set-default that would fail after the key check: the key is checked first.
            ("RegisterModel", m, o => management.RegisterModelAsync(new RegisterModelRequest { Url = "absent.mar" }, o).ResponseAsync),
            ("ScaleWorker", m, o => management.ScaleWorkerAsync(new ScaleWorkerRequest { ModelName = "digits", MinWorker = 1, Synchronous = true }, o).ResponseAsync),
            ("SetDefault", m, o => management.SetDefaultAsync(new SetDefaultRequest { ModelName = "digits", ModelVersion = "1.0" }, o).ResponseAsync),
            ("UnregisterModel", m, o => management.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "absent" }, o).ResponseAsync),
        ];
    }

    [Fact]
    public async Task Every_rpc_without_its_key_or_with_a_wrong_one_is_UNAUTHENTICATED_and_says_which_key_to_send()
    {
        foreach (var (rpc, key, call) in Rpcs())
        {
            var other = key == server.InferenceKey ? server.ManagementKey : server.InferenceKey;
            var api = key == server.InferenceKey ? "inference" : "management";
            foreach (var (presented, expected) in new[]
            {
                ((string?)null, $"This API needs the {api} key from key_file.json: send 'Authorization: Bearer <key>'."),
                ("not-a-key", $"The key is not the current {api} key in key_file.json."),
                (other, $"The key is not the current {api} key in key_file.json."),
            })
            {
                var refused = await Assert.ThrowsAsync<RpcException>(() => call(GrpcServer.With(presented)));
                Assert.True(refused.StatusCode == StatusCode.Unauthenticated, $"{rpc} with {presented ?? "no key"}: {refused.StatusCode} {refused.Status.Detail}");
                Assert.Equal(expected, refused.Status.Detail);
            }
        }
    }

    [Fact]
    public async Task Every_rpc_with_its_key_is_answered()
    {
        foreach (var (rpc, key, call) in Rpcs())
        {
            try
            {
                await call(GrpcServer.With(key));
            }
            catch (RpcException e)
            {
                // The three calls above that are meant to fail after the key check fail for their own reason.
                Assert.True(e.StatusCode == StatusCode.NotFound && rpc is "RegisterModel" or "UnregisterModel", $"{rpc}: {e.StatusCode} {e.Status.Detail}");
            }
        }
    }

    [Fact]
    public async Task Ping_needs_no_key_as_RESTs_ping_does_so_that_health_probes_work()
    {
        var inference = new InferenceAPIsService.InferenceAPIsServiceClient(server.Inference);

        var health = await inference.PingAsync(new Empty(), GrpcServer.With(null));

        Assert.Contains("Healthy", health.Health);
    }

    [Fact]
    public async Task A_service_called_on_the_other_APIs_listener_is_UNIMPLEMENTED_whatever_the_key()
    {
        var managementOnInference = new ManagementAPIsService.ManagementAPIsServiceClient(server.Inference);
        var inferenceOnManagement = new InferenceAPIsService.InferenceAPIsServiceClient(server.Management);
        var openOnManagement = new GRPCInferenceService.GRPCInferenceServiceClient(server.Management);

        var refused = new[]
        {
            await Assert.ThrowsAsync<RpcException>(() => managementOnInference.ListModelsAsync(new ListModelsRequest(), GrpcServer.With(server.ManagementKey)).ResponseAsync),
            await Assert.ThrowsAsync<RpcException>(() => inferenceOnManagement.PingAsync(new Empty(), GrpcServer.With(null)).ResponseAsync),
            await Assert.ThrowsAsync<RpcException>(() => openOnManagement.ServerLiveAsync(new ServerLiveRequest(), GrpcServer.With(server.InferenceKey)).ResponseAsync),
        };

        Assert.All(refused, e => Assert.Equal(StatusCode.Unimplemented, e.StatusCode));
        Assert.Equal("/org.pytorch.serve.grpc.management.ManagementAPIsService/ListModels is served on the grpc_management_port listener, not this one.", refused[0].Status.Detail);
        Assert.EndsWith("is served on the grpc_inference_port listener, not this one.", refused[1].Status.Detail);
    }
}
