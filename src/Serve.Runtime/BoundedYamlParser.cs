using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Serve.Runtime;

/// <summary>
/// YamlDotNet's parser with a bound on nesting and on aliases, checked event by event before the
/// representation model sees them: that model recurses once per level (100,000 levels overflow
/// the stack and kill the process), and each alias can stand for a whole subtree again
/// (a "billion laughs" document of a kilobyte expands to gigabytes when walked).
/// </summary>
internal sealed class BoundedYamlParser(IParser inner, string source, int maxDepth, int maxAliases) : IParser
{
    private int _depth;
    private int _aliases;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }
        switch (inner.Current)
        {
            case MappingStart or SequenceStart when ++_depth > maxDepth:
                throw new ModelLoadException(
                    $"{source}:{inner.Current.Start.Line}: the model config nests deeper than {maxDepth} levels; the limit is {maxDepth} (model-config nesting depth).");
            case MappingEnd or SequenceEnd:
                _depth--;
                break;
            case AnchorAlias when ++_aliases > maxAliases:
                throw new ModelLoadException(
                    $"{source}:{inner.Current.Start.Line}: the model config uses more than {maxAliases} aliases (*name); the limit is {maxAliases} (model-config aliases).");
        }
        return true;
    }
}
