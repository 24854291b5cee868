using System.Collections.Generic;
using Serve.Runtime;

namespace Serve.Handlers;

/// <summary>
/// The built-in handlers under TorchServe's names, for a manifest's <c>"handler"</c>.
/// Written by hand until the generator's public per-assembly registration (issue 14) lands;
/// add each one to the services: <c>services.AddSingleton(registration)</c>.
/// </summary>
public static class BuiltInHandlers
{
    public static IReadOnlyList<HandlerRegistration> All { get; } =
    [
        new("image_classifier", () => new ImageClassifier()),
        new("image_segmenter", () => new ImageSegmenter()),
    ];
}
