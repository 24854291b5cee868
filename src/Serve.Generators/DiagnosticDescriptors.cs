using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>Every diagnostic Serve reports; docs/diagnostics.md has a wrong and a fixed example of each.</summary>
public static class DiagnosticDescriptors
{
    private const string Category = "Serve";

    /// <summary>
    /// docs/diagnostics.md in the repository. The repository has no published address yet; when it
    /// gets one, put it here and every help link follows.
    /// </summary>
    private const string HelpBase = "docs/diagnostics.md#";

    public static readonly DiagnosticDescriptor HandlerNotPartial = Create(
        "SERVE001", "Handler class must be partial",
        "Handler class '{0}' must be declared partial so that Serve can generate its pipeline");

    public static readonly DiagnosticDescriptor StageOutsideHandler = Create(
        "SERVE002", "Stage method no handler can call",
        "Method '{0}' is marked [{1}], but {2}, so the stage is never called",
        WellKnownDiagnosticTags.CompilationEnd);

    public static readonly DiagnosticDescriptor DuplicateStage = Create(
        "SERVE003", "Two methods for one stage",
        "Handler '{0}' has two [{1}] methods, '{2}' and '{3}'; a stage has exactly one method");

    public static readonly DiagnosticDescriptor StageTypeMismatch = Create(
        "SERVE004", "Stage output does not fit the next stage",
        "{0} takes {1}, but {2} gives {3}{4}");

    public static readonly DiagnosticDescriptor BadStageSignature = Create(
        "SERVE005", "Bad stage signature",
        "[{0}] method '{1}' has an unusable signature: {2}");

    public static readonly DiagnosticDescriptor UnserializableResult = Create(
        "SERVE006", "Result type cannot be written as a response",
        "'{0}' cannot be written as a response: {1}. Return string, byte[], InferenceResult or a type whose public properties are JSON-writable, or set JsonContext on [Handler] to a JsonSerializerContext that holds it.");

    public static readonly DiagnosticDescriptor DuplicateHandlerName = Create(
        "SERVE007", "Duplicate handler name",
        "Handler name '{0}' is already used by '{1}' ('{2}'); handler names must be unique in an assembly, without regard to case, as URLs match them",
        WellKnownDiagnosticTags.CompilationEnd);

    public static readonly DiagnosticDescriptor UnsupportedHandlerClass = Create(
        "SERVE008", "Handler class shape not supported",
        "Handler class '{0}' cannot be {1}; declare it as a top-level, non-generic class or record");

    public static readonly DiagnosticDescriptor NoDefaultStage = Create(
        "SERVE009", "No default exists for a missing stage",
        "Handler '{0}' declares neither [Inference] nor [Postprocess]: the default inference runs the loaded model, and only a [Postprocess] input type says what the model returns. Declare one of them.");

    public static readonly DiagnosticDescriptor InvalidHandlerName = Create(
        "SERVE010", "Invalid handler name",
        "Handler name '{0}' is not valid: start with a letter or digit, then use letters, digits, '-', '_' or '.', as TorchServe's model names do (it becomes the URL /predictions/{0})");

    public static readonly DiagnosticDescriptor HandlerNotCreatable = Create(
        "SERVE011", "Handler cannot be created",
        "Handler class '{0}' {1}; the registration creates handlers with 'new {0}()'");

    public static readonly DiagnosticDescriptor LanguageVersionTooOld = Create(
        "SERVE012", "C# version too old for the generated code",
        "Serve's generated code needs C# 9 or later, but this project compiles C# {0}; set <LangVersion> to 9 or later (the .NET 10 default is 14)");

    public static readonly DiagnosticDescriptor RuntimeNotReferenced = Create(
        "SERVE014", "Serve.Runtime is not referenced",
        "Handler class '{0}' gets no code: the project references Serve's attributes but not Serve.Runtime, where IHandler and the handler contracts live; add a reference to Serve.Runtime");

    private static DiagnosticDescriptor Create(string id, string title, string message, params string[] tags) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: HelpBase + id.ToLowerInvariant(), customTags: tags);
}
