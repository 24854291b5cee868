using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Serve.Torch.Tests;

/// <summary>fixtures/make_backends.py's TinyNet in C#: the same layer names and shapes.</summary>
public sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv = nn.Conv2d(1, 4, 3, padding: 1);
    private readonly BatchNorm2d norm = nn.BatchNorm2d(4);
    private readonly Linear fc1 = nn.Linear(4 * 8 * 8, 16);
    private readonly Linear fc2;

    public TinyNet(int classes = 3) : base(nameof(TinyNet))
    {
        fc2 = nn.Linear(16, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var features = nn.functional.relu(norm.call(conv.call(x)));
        using var flat = features.flatten(1);
        using var hidden = nn.functional.relu(fc1.call(flat));
        return fc2.call(hidden);
    }
}

/// <summary>TinyNet with a renamed layer and no batch norm: for the key-mismatch report.</summary>
public sealed class RenamedNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv = nn.Conv2d(1, 4, 3, padding: 1);
    private readonly Linear hidden = nn.Linear(4 * 8 * 8, 16);
    private readonly Linear fc2 = nn.Linear(16, 5);

    public RenamedNet() : base(nameof(RenamedNet)) => RegisterComponents();

    public override Tensor forward(Tensor x) => fc2.call(hidden.call(conv.call(x).flatten(1)));
}
