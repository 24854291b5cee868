using Microsoft.CodeAnalysis;

namespace Serve.Generators;

/// <summary>Every diagnostic Serve reports; docs/diagnostics.md has a wrong and a fixed example of each.</summary>
public static class DiagnosticDescriptors
{
    private const string Category = "Serve";
    private const string HelpBase = "docs/diagnostics.md#";

    public static readonly DiagnosticDescriptor HandlerNotPartial = Create(
        "SERVE001", "Handler class must be partial",
        "Handler class '{0}' must be declared partial so that Serve can generate its pipeline");

    public static readonly DiagnosticDescriptor StageOutsideHandler = Create(
        "SERVE002", "Stage method outside a handler",
        "Method '{0}' is marked [{1}], but class '{2}' has no [Handler] attribute, so the stage is never called");

    public static readonly DiagnosticDescriptor DuplicateStage = Create(
        "SERVE003", "Two methods for one stage",
        "Handler '{0}' has two [{1}] methods, '{2}' and '{3}'; a stage has exactly one method");

    public static readonly DiagnosticDescriptor StageTypeMismatch = Create(
        "SERVE004", "Stage output does not fit the next stage",
        "{0}");

    public static readonly DiagnosticDescriptor BadStageSignature = Create(
        "SERVE005", "Bad stage signature",
        "[{0}] method '{1}' has an unusable signature: {2}");

    public static readonly DiagnosticDescriptor UnserializableResult = Create(
        "SERVE006", "Result type cannot be written as a response",
        "'{0}' cannot be written as a response: {1}. Return string, byte[], InferenceResult or a type whose public properties are JSON-writable, or set JsonContext on [Handler].");

    public static readonly DiagnosticDescriptor DuplicateHandlerName = Create(
        "SERVE007", "Duplicate handler name",
        "Handler name '{0}' is already used by '{1}'; handler names must be unique in an assembly",
        WellKnownDiagnosticTags.CompilationEnd);

    public static readonly DiagnosticDescriptor UnsupportedHandlerClass = Create(
        "SERVE008", "Handler class shape not supported",
        "Handler class '{0}' cannot be {1}; declare it as a top-level, non-generic class");

    public static readonly DiagnosticDescriptor NoDefaultStage = Create(
        "SERVE009", "No default exists for a missing stage",
        "{0}");

    public static readonly DiagnosticDescriptor InvalidHandlerName = Create(
        "SERVE010", "Invalid handler name",
        "Handler name '{0}' is not valid: use letters, digits, '-', '_' or '.', as it becomes the URL /predictions/{0}");

    public static readonly DiagnosticDescriptor HandlerNotCreatable = Create(
        "SERVE011", "Handler cannot be created",
        "Handler class '{0}' {1}; the registry creates handlers with a parameterless constructor");

    private static DiagnosticDescriptor Create(string id, string title, string message, params string[] tags) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: HelpBase + id.ToLowerInvariant(), customTags: tags);
}
