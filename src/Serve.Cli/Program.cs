using Microsoft.Extensions.DependencyInjection;
using Serve.Cli;
using Serve.Grpc;

// The `serve` tool: archive, stop, and start with the ONNX and TorchSharp backends and the built-in
// handlers (image_classifier, image_segmenter, object_detector, text_classifier), and TorchServe's
// gRPC APIs beside the REST ones (grpc_inference_port, grpc_management_port). The native AOT
// build (-p:ServeAot=true) serves ONNX only: TorchSharp cannot be compiled ahead of time. Handlers
// are compiled, not loaded from archives: an app with its own handlers calls
// ServeCommandLine.RunAsync with them (samples/Digits does).
return await ServeCommandLine.RunAsync(args, System.Console.Out, System.Console.Error, AddBackendsAndBuiltIns);

static void AddBackendsAndBuiltIns(IServiceCollection services)
{
    services.AddOnnxRuntime();
#if SERVE_TORCH
    services.AddTorchSharp();
#endif
    services.AddServeBuiltInHandlers();
    services.AddTorchServeGrpc();
}
