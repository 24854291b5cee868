using System;
using System.CommandLine;
using System.IO;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;

namespace Serve.Cli;

/// <summary>The <c>serve</c> command: its subcommands and how a run's output and exit code come about.</summary>
public static class ServeCommandLine
{
    /// <summary>True when <paramref name="args"/> starts with one of serve's subcommands.</summary>
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "start" or "stop" or "archive";

    /// <summary>Parses <paramref name="args"/>, runs the subcommand and returns the process exit code.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where progress and results are written.</param>
    /// <param name="error">Where errors are written.</param>
    /// <param name="addHandlers">Adds the handlers and backends compiled into this app (for <c>start</c>).</param>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<IServiceCollection>? addHandlers = null)
    {
        var root = new RootCommand("Serve: a .NET model server for TorchServe's model archives, config.properties and APIs.")
        {
            StartCommand.Create(addHandlers ?? (_ => { })),
            StopCommand.Create(),
            ArchiveCommand.Create(),
        };
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
