// Serves the digits model on http://127.0.0.1:8080 (see appsettings.json):
//   curl --data-binary @samples/Digits/images/3.png http://127.0.0.1:8080/predictions/digits
// Or, TorchServe's way (docs/torchserve.md), with this app's handlers compiled in:
//   dotnet run --project samples/Digits -- start --model-store model_store --models all
using Microsoft.Extensions.DependencyInjection;
using Serve.Cli;

if (ServeCommandLine.IsCommand(args))
{
    return await ServeCommandLine.RunAsync(args, System.Console.Out, System.Console.Error, services => services.AddOnnxRuntime().AddServeHandlers());
}
Samples.Digits.DigitsApp.Build(args).Run();
return 0;
