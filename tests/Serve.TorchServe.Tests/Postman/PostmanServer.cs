using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Serve.Archives;
using Serve.Tests;

namespace Serve.TorchServe.Tests.Postman;

/// <summary>
/// The server TorchServe's Postman suites run against (ts_scripts/api_utils.py: token
/// authorization off, the model API on, no model loaded at start), built as `serve start` builds
/// it with the digits handler and the built-ins, on 127.0.0.1. The suites' archives are small
/// stand-ins made here under TorchServe's names; the URLs they fetch from
/// https://torchserve.pytorch.org/mar_files/ are served by a second Kestrel on 127.0.0.1 (port 0).
/// </summary>
public sealed class PostmanServer : IAsyncDisposable
{
    private const string RemotePrefix = "https://torchserve.pytorch.org/mar_files/";
    private readonly WebApplication _app;
    private readonly WebApplication _files;

    private PostmanServer(WebApplication app, WebApplication files, TorchServeConfig config, TempDirectory temp, Uri filesAddress)
    {
        _app = app;
        _files = files;
        Config = config;
        Temp = temp;
        FilesAddress = filesAddress;
    }

    public TempDirectory Temp { get; }

    public TorchServeConfig Config { get; }

    /// <summary>Where the stand-ins for torchserve.pytorch.org's archives are served.</summary>
    public Uri FilesAddress { get; }

    public HttpClient Client { get; } = new();

    /// <param name="store">The archives in the model store: file name, and what to write there.</param>
    /// <param name="remote">The archives served at https://torchserve.pytorch.org/mar_files/NAME.</param>
    public static async Task<PostmanServer> StartAsync(IReadOnlyList<StandIn> store, IReadOnlyList<StandIn> remote)
    {
        var temp = new TempDirectory();
        Directory.CreateDirectory(temp["store"]);
        Directory.CreateDirectory(temp["remote"]);
        foreach (var archive in store)
        {
            archive.Write(temp["store"], temp);
        }
        foreach (var archive in remote)
        {
            archive.Write(temp["remote"], temp);
        }

        var files = WebApplication.CreateSlimBuilder();
        files.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var fileServer = files.Build();
        fileServer.MapGet("/mar_files/{file}", (string file) =>
            File.Exists(Path.Combine(temp["remote"], Path.GetFileName(file)))
                ? Results.File(Path.Combine(temp["remote"], Path.GetFileName(file)), "application/octet-stream")
                : Results.NotFound());
        await fileServer.StartAsync();
        var filesAddress = new Uri(fileServer.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var config = TorchServeConfig.Parse($"""
            inference_address=http://127.0.0.1:{FreePort.Next()}
            management_address=http://127.0.0.1:{FreePort.Next()}
            metrics_address=http://127.0.0.1:{FreePort.Next()}
            model_store={temp["store"]}
            disable_token_authorization=true
            enable_model_api=true
            allowed_urls=file://.*,http(s)?://.*
            """, "postman config.properties"); // TorchServe's own allowed_urls, as the suites run against: ours without it refuses the local mirror at 127.0.0.1
        var app = TorchServeHost.Build(config, [],
            services => services.AddOnnxRuntime().AddTorchSharp().AddDigitsHandlers().AddServeBuiltInHandlers(),
            TextWriter.Null, temp["work"], temp["key_file.json"]);
        await app.StartAsync();
        return new PostmanServer(app, fileServer, config, temp, filesAddress);
    }

    /// <summary>A suite's path or URL with torchserve.pytorch.org's archives pointed at the local file server.</summary>
    public string Local(string pathOrUrl) =>
        pathOrUrl.Replace(RemotePrefix, new Uri(FilesAddress, "/mar_files/").ToString(), StringComparison.Ordinal)
            .Replace("https://torchserve.s3.amazonaws.com/mar_files/", new Uri(FilesAddress, "/mar_files/").ToString(), StringComparison.Ordinal);

    public Task<HttpResponseMessage> Management(string method, string path) =>
        Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(Config.ManagementAddress, Local(path))));

    public Task<HttpResponseMessage> Inference(string path, HttpContent body) =>
        Client.PostAsync(new Uri(Config.InferenceAddress, path), body);

    public Task<string> MetricsText() => Client.GetStringAsync(new Uri(Config.MetricsAddress, "/metrics"));

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _files.StopAsync();
        await _files.DisposeAsync();
        Temp.Dispose();
    }
}

/// <summary>
/// A small archive under the name of one of TorchServe's suite archives: the model file, the
/// handler compiled into the test server, and the files the handler reads beside it.
/// </summary>
public sealed record StandIn(string FileName, string ModelName, string Handler, string SerializedFile, params string[] ExtraFiles)
{
    public string Version { get; init; } = "1.0";

    public void Write(string directory, TempDirectory temp)
    {
        var spec = new ArchiveSpec
        {
            ModelName = ModelName,
            Version = Version,
            SerializedFile = Fixture(SerializedFile),
            Handler = Handler,
            ExtraFiles = [.. ExtraFiles.Select(Fixture)],
            ExportPath = temp["archiving"],
            Force = true,
        };
        Directory.CreateDirectory(spec.ExportPath);
        ModelArchiveWriter.Write(spec, DateTime.Now);
        File.Move(Path.Combine(spec.ExportPath, ModelName + ".mar"), Path.Combine(directory, FileName), overwrite: true);
    }

    public static string Fixture(string relative) => Path.Combine(AppContext.BaseDirectory, "fixtures", relative);
}
