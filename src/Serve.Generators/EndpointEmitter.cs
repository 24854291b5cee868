using Serve.Generators.Model;
using static Serve.Generators.GeneratedCode;

namespace Serve.Generators;

/// <summary>
/// Writes <c>MapServeEndpoints()</c> for an app (an assembly that references Serve.Server): the
/// HTTP routes of the app's own handlers, and the routes by model name that serve every other
/// registered handler, including those of handler libraries.
/// </summary>
internal static class EndpointEmitter
{
    private const string Http = "global::Serve.Server.Http";
    private const string Services = "global::Serve.Server.CompilerServices";

    public const string HintName = "ServeEndpoints.g.cs";

    public static string Emit(EquatableArray<RegistrationSpec> handlers, CompilationFacts facts)
    {
        var w = new SourceWriter().FileHeader();
        w.Open("namespace Microsoft.AspNetCore.Builder");
        w.Line("/// <summary>Maps the Serve HTTP endpoints.</summary>");
        w.Line(Attribute);
        w.Open($"internal static class {facts.AssemblyIdentifier}ServeEndpoints");
        w.Line("/// <summary>");
        w.Line("/// Maps the TorchServe REST and Open Inference Protocol v2 endpoints, /predictions/{name} for each handler in this");
        w.Line("/// assembly, bound to its model once here, and the OpenAPI description at /openapi/v1.json.");
        w.Line("/// </summary>");
        w.Open("internal static global::Microsoft.AspNetCore.Routing.IEndpointRouteBuilder MapServeEndpoints(this global::Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)");
        w.Line("// GET and HEAD /ping, and /predictions/{model} for every other model: a handler library's, one configured under another name, or an unknown one (404).");
        w.Line($"{Http}.TorchServeHttp.MapTorchServeInference(endpoints);");
        w.Line($"{Http}.OpenInferenceHttp.MapOpenInferenceProtocol(endpoints);");
        foreach (var handler in handlers)
        {
            w.Line($"{Services}.HandlerEndpoints.MapTorchServePredictions(endpoints, {Literal(handler.HandlerName)}, canExplain: {(handler.CanExplain ? "true" : "false")});");
        }
        w.Open($"{Services}.ServeOpenApi.MapServeOpenApi(endpoints, new {Services}.OpenApiHandler[]");
        foreach (var handler in handlers)
        {
            w.Line($"new({Literal(handler.HandlerName)}, {(handler.CanExplain ? "true" : "false")}, {handler.FullyQualifiedName}.ServeOpenApiResponse, {handler.FullyQualifiedName}.ServeOpenApiSchemas),");
        }
        w.Close(");");
        w.Line("return endpoints;");
        w.Close();
        w.Close();
        w.Close();
        return w.ToString();
    }
}
