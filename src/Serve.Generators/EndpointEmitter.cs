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
    private const string Routes = "global::Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions";
    private const string Delegate = "global::Microsoft.AspNetCore.Http.RequestDelegate";
    private const string Http = "global::Serve.Server.Http.ServeHttp";

    public const string HintName = "ServeEndpoints.g.cs";

    public static string Emit(EquatableArray<RegistrationSpec> handlers, CompilationFacts facts)
    {
        var w = new SourceWriter().FileHeader();
        w.Open("namespace Microsoft.AspNetCore.Builder");
        w.Line("/// <summary>Maps the Serve HTTP endpoints.</summary>");
        w.Line(Attribute);
        w.Open($"internal static class {facts.AssemblyIdentifier}ServeEndpoints");
        w.Line("// POST, and PUT for TorchServe's documented `curl -T kitten.jpg`.");
        w.Line("private static readonly string[] PostOrPut = new[] { \"POST\", \"PUT\" };");
        w.Line("// HEAD too: load balancers probe health with it.");
        w.Line("private static readonly string[] GetOrHead = new[] { \"GET\", \"HEAD\" };");
        w.Line();
        w.Line("/// <summary>Maps GET and HEAD /ping, and POST/PUT /predictions/{model} and /explanations/{model} for every registered handler.</summary>");
        w.Open("internal static global::Microsoft.AspNetCore.Routing.IEndpointRouteBuilder MapServeEndpoints(this global::Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)");
        w.Line($"{Routes}.MapMethods(endpoints, \"/ping\", GetOrHead, new {Delegate}({Http}.PingAsync));");
        foreach (var handler in handlers)
        {
            var name = Literal(handler.HandlerName);
            w.Line($"{Routes}.MapMethods(endpoints, {Literal("/predictions/" + handler.HandlerName)}, PostOrPut,");
            w.Line($"    new {Delegate}(static httpContext => {Http}.PredictAsync(httpContext, {name})));");
            if (handler.CanExplain)
            {
                w.Line($"{Routes}.MapMethods(endpoints, {Literal("/explanations/" + handler.HandlerName)}, PostOrPut,");
                w.Line($"    new {Delegate}(static httpContext => {Http}.ExplainAsync(httpContext, {name})));");
            }
        }
        w.Line("// Any other model name: a handler library's handler, a model configured under another name than its handler's, or an unknown one (404).");
        w.Line($"{Routes}.MapMethods(endpoints, \"/predictions/{{model}}\", PostOrPut, new {Delegate}({Http}.PredictByRouteAsync));");
        w.Line($"{Routes}.MapMethods(endpoints, \"/explanations/{{model}}\", PostOrPut, new {Delegate}({Http}.ExplainByRouteAsync));");
        w.Line("return endpoints;");
        w.Close();
        w.Close();
        w.Close();
        return w.ToString();
    }
}
