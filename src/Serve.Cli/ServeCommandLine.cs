using System.CommandLine;
using System.IO;
using System.Threading.Tasks;

namespace Serve.Cli;

/// <summary>The <c>serve</c> command: its subcommands and how a run's output and exit code come about.</summary>
public static class ServeCommandLine
{
    /// <summary>Parses <paramref name="args"/>, runs the subcommand and returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Serve: a .NET model server for TorchServe's model archives, config.properties and APIs.")
        {
            ArchiveCommand.Create(),
        };
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
    }
}
