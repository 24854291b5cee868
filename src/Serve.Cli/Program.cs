using Serve.Cli;

return await ServeCommandLine.RunAsync(args, System.Console.Out, System.Console.Error);
