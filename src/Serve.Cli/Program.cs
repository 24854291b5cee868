using Microsoft.Extensions.DependencyInjection;
using Serve.Cli;

// The `serve` tool: archive, stop, and start with the ONNX backend and the built-in handlers
// (image_classifier, image_segmenter). Handlers are compiled, not loaded from archives: an app
// with its own handlers calls ServeCommandLine.RunAsync with them (samples/Digits does).
return await ServeCommandLine.RunAsync(args, System.Console.Out, System.Console.Error, services => services.AddOnnxRuntime().AddServeBuiltInHandlers());
