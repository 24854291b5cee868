using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Management;
using Serve.Archives;

namespace Serve.Grpc.Tests;

/// <summary>TorchServe's gRPC management API (management.proto) with the management key: each call answers what REST answers.</summary>
[Collection(GrpcServerCollection.Name)]
public sealed class TorchServeManagementTests(GrpcServer server)
{
    private readonly ManagementAPIsService.ManagementAPIsServiceClient _client = new(server.Management);

    private CallOptions Key => GrpcServer.With(server.ManagementKey);

    [Fact]
    public async Task ListModels_lists_the_loaded_models_by_name_a_page_at_a_time()
    {
        var all = JsonDocument.Parse((await _client.ListModelsAsync(new ListModelsRequest(), Key)).Msg).RootElement;
        var first = JsonDocument.Parse((await _client.ListModelsAsync(new ListModelsRequest { Limit = 1 }, Key)).Msg).RootElement;
        var second = JsonDocument.Parse((await _client.ListModelsAsync(new ListModelsRequest { Limit = 1, NextPageToken = 1 }, Key)).Msg).RootElement;

        var names = all.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("modelName").GetString()).ToArray();
        Assert.Contains("classifier", names);
        Assert.Contains("digits", names);
        Assert.Equal(names.Order(System.StringComparer.Ordinal), names);
        Assert.Equal("1", first.GetProperty("nextPageToken").GetString());
        Assert.Equal(names[0], first.GetProperty("models")[0].GetProperty("modelName").GetString());
        Assert.Equal(names[1], second.GetProperty("models")[0].GetProperty("modelName").GetString());
        Assert.Equal("digits.mar", all.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("modelName").GetString() == "digits").GetProperty("modelUrl").GetString());
    }

    [Fact]
    public async Task DescribeModel_answers_the_REST_description_of_the_default_a_named_or_every_version()
    {
        var byDefault = JsonDocument.Parse((await _client.DescribeModelAsync(new DescribeModelRequest { ModelName = "classifier" }, Key)).Msg).RootElement;
        var all = JsonDocument.Parse((await _client.DescribeModelAsync(new DescribeModelRequest { ModelName = "classifier", ModelVersion = "all" }, Key)).Msg).RootElement;
        var missing = await Assert.ThrowsAsync<RpcException>(() => _client.DescribeModelAsync(new DescribeModelRequest { ModelName = "classifier", ModelVersion = "2.0" }, Key).ResponseAsync);

        var model = Assert.Single(byDefault.EnumerateArray());
        Assert.Equal("classifier", model.GetProperty("modelName").GetString());
        Assert.Equal("1.0", model.GetProperty("modelVersion").GetString());
        Assert.Equal("READY", model.GetProperty("status").GetString());
        Assert.True(model.GetProperty("workers").GetArrayLength() >= 1);
        Assert.Single(all.EnumerateArray());
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal("Model version: 2.0 does not exist for model: classifier", missing.Status.Detail);
    }

    [Fact]
    public async Task RegisterModel_SetDefault_ScaleWorker_and_UnregisterModel_manage_a_model_as_REST_does()
    {
        // A second model from an archive written into the model store: digits on ONNX, as `serve archive` makes it.
        ModelArchiveWriter.Write(new ArchiveSpec
        {
            ModelName = "mnist",
            Version = "2.0",
            SerializedFile = GrpcServer.Fixture("digits.onnx"),
            Handler = "digits",
            ExportPath = Path.Combine(server.Directory, "store"),
        }, System.DateTime.Now);

        var registered = await _client.RegisterModelAsync(new RegisterModelRequest { Url = "mnist.mar", Synchronous = true, InitialWorkers = 1 }, Key);
        var again = await Assert.ThrowsAsync<RpcException>(() => _client.RegisterModelAsync(new RegisterModelRequest { Url = "mnist.mar", Synchronous = true }, Key).ResponseAsync);
        var setDefault = await _client.SetDefaultAsync(new SetDefaultRequest { ModelName = "mnist", ModelVersion = "2.0" }, Key);
        var noSuchVersion = await Assert.ThrowsAsync<RpcException>(() => _client.SetDefaultAsync(new SetDefaultRequest { ModelName = "mnist", ModelVersion = "3.0" }, Key).ResponseAsync);
        var scaled = await _client.ScaleWorkerAsync(new ScaleWorkerRequest { ModelName = "mnist", MinWorker = 2, MaxWorker = 2, Synchronous = true }, Key);
        var described = JsonDocument.Parse((await _client.DescribeModelAsync(new DescribeModelRequest { ModelName = "mnist" }, Key)).Msg).RootElement[0];
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => _client.ScaleWorkerAsync(new ScaleWorkerRequest { ModelName = "mnist", MinWorker = 5, MaxWorker = 2 }, Key).ResponseAsync);
        var unregistered = await _client.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "mnist" }, Key);
        var gone = await Assert.ThrowsAsync<RpcException>(() => _client.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "mnist" }, Key).ResponseAsync);

        Assert.Equal("Model \"mnist\" Version: 2.0 registered with 1 initial workers", registered.Msg);
        Assert.Equal(StatusCode.Aborted, again.StatusCode); // REST's 409
        Assert.Equal("Model version 2.0 is already registered for model mnist", again.Status.Detail);
        Assert.Equal("Default version successfully updated for model \"mnist\" to \"2.0\"", setDefault.Msg);
        Assert.Equal(StatusCode.NotFound, noSuchVersion.StatusCode);
        Assert.Equal("Workers scaled to 2 for model: mnist", scaled.Msg);
        Assert.Equal(2, described.GetProperty("minWorkers").GetInt32());
        Assert.Equal(2, described.GetProperty("workers").GetArrayLength());
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Equal("Model \"mnist\" unregistered", unregistered.Msg);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Equal("Model not found: mnist", gone.Status.Detail);
    }

    [Fact]
    public async Task RegisterModel_asynchronous_by_default_answers_at_once_and_the_model_becomes_ready()
    {
        ModelArchiveWriter.Write(new ArchiveSpec
        {
            ModelName = "later",
            Version = "1.0",
            SerializedFile = GrpcServer.Fixture("digits.onnx"),
            Handler = "digits",
            ExportPath = Path.Combine(server.Directory, "store"),
        }, System.DateTime.Now);

        var registered = await _client.RegisterModelAsync(new RegisterModelRequest { Url = "later.mar" }, Key);
        string status;
        var waited = 0;
        do
        {
            await Task.Delay(50);
            status = JsonDocument.Parse((await _client.DescribeModelAsync(new DescribeModelRequest { ModelName = "later" }, Key)).Msg).RootElement[0].GetProperty("status").GetString()!;
        }
        while (status == "LOADING" && ++waited < 1200);
        await _client.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "later" }, Key);

        Assert.Equal("Processing worker updates...", registered.Msg);
        Assert.Equal("READY", status);
    }

    [Theory]
    [InlineData("", StatusCode.InvalidArgument, "The parameter url is required")]
    [InlineData("nothing-here.mar", StatusCode.NotFound, "Model not found at: nothing-here.mar")]
    [InlineData("../digits.mar", StatusCode.InvalidArgument, "")]
    [InlineData("ftp://example.com/a.mar", StatusCode.InvalidArgument, "")]
    public async Task RegisterModel_refuses_a_bad_url_with_the_status_of_RESTs_answer(string url, StatusCode code, string message)
    {
        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.RegisterModelAsync(new RegisterModelRequest { Url = url, Synchronous = true }, Key).ResponseAsync);

        Assert.Equal(code, refused.StatusCode);
        Assert.StartsWith(message, refused.Status.Detail);
        Assert.NotEmpty(refused.Status.Detail);
    }

    [Fact]
    public async Task RegisterModel_refuses_a_runtime_TorchServe_does_not_know_as_REST_does()
    {
        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.RegisterModelAsync(new RegisterModelRequest { Url = "digits.mar", Runtime = "python4", Synchronous = true }, Key).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal("Invalid RuntimeType value: python4 (runtime is python, python3, LSP).", refused.Status.Detail);
    }

    [Fact]
    public async Task The_calls_on_a_model_that_is_not_served_are_NOT_FOUND_and_a_missing_name_INVALID_ARGUMENT()
    {
        async Task<RpcException> Refused<T>(AsyncUnaryCall<T> call) => await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        foreach (var refused in new[]
        {
            await Refused(_client.DescribeModelAsync(new DescribeModelRequest { ModelName = "nope" }, Key)),
            await Refused(_client.ScaleWorkerAsync(new ScaleWorkerRequest { ModelName = "nope" }, Key)),
            await Refused(_client.SetDefaultAsync(new SetDefaultRequest { ModelName = "nope", ModelVersion = "1.0" }, Key)),
            await Refused(_client.UnregisterModelAsync(new UnregisterModelRequest { ModelName = "nope" }, Key)),
        })
        {
            Assert.Equal(StatusCode.NotFound, refused.StatusCode);
            Assert.Equal("Model not found: nope", refused.Status.Detail);
        }
        var unnamed = await Refused(_client.DescribeModelAsync(new DescribeModelRequest(), Key));
        Assert.Equal(StatusCode.InvalidArgument, unnamed.StatusCode);
        Assert.Equal("Parameter model_name is required.", unnamed.Status.Detail);
    }
}
