using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime.Tests.TestHandlers;
using static Serve.Runtime.Tests.TestSupport;

namespace Serve.Runtime.Tests;

/// <summary>The generated calls reach exactly the attributed methods (issue 14, defects 2 and 4).</summary>
public class BindingTests
{
    [Fact]
    public async Task The_attributed_overload_runs_not_a_more_specific_helper()
    {
        IHandler handler = new OverloadedStageHandler();

        var results = await handler.HandleAsync(Batch("a", "b"), Context(), CancellationToken.None);

        Assert.Equal(["stage:a", "stage:b"], results.Select(Text));
    }

    [Fact]
    public async Task An_explicit_interface_implementation_runs_as_the_stage()
    {
        IHandler handler = new ExplicitStageHandler();

        var results = await handler.HandleAsync(Batch("x"), Context(), CancellationToken.None);

        Assert.Equal(["explicit:x"], results.Select(Text));
    }
}
