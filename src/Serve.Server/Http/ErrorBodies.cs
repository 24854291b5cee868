using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// Gives every error the application pipeline answers TorchServe's JSON body
/// (<c>{"code","type","message"}</c>): an unknown path (404), a wrong method (405), a request
/// Kestrel refuses while the app reads it (400, 408, 413), and an exception nothing caught (500,
/// logged with its stack trace as the server fault it is). Errors Kestrel writes before any
/// application code runs (a malformed request line or headers) are given theirs by
/// <see cref="Connections.KestrelErrorBodies"/>.
/// </summary>
internal sealed partial class ErrorBodies(ILogger<ErrorBodies> logger) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(InvokeAsync);
        next(app);
    };

    private async Task InvokeAsync(HttpContext httpContext, RequestDelegate next)
    {
        try
        {
            await next(httpContext).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (!httpContext.Response.HasStarted)
        {
            ClientErrors.Record(httpContext, "request", e.StatusCode, e.Message);
            await TorchServeErrorBody.WriteAsync(httpContext, e.StatusCode, TorchServeErrorBody.TypeName(HttpInference.Kind(e.StatusCode)), e.Message).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (httpContext.RequestAborted.IsCancellationRequested)
        {
            return; // The client left; there is no one to answer.
        }
        catch (Exception e) when (!httpContext.Response.HasStarted)
        {
            LogUnhandled(logger, e, httpContext.Request.Method, httpContext.Request.Path);
            await TorchServeErrorBody.WriteAsync(httpContext, 500, "InternalServerException", "The server failed to answer this request; the fault is logged.").ConfigureAwait(false);
            return;
        }

        var response = httpContext.Response;
        if (response.StatusCode >= 400 && !response.HasStarted && response.ContentLength is null && response.ContentType is null)
        {
            var request = httpContext.Request;
            var (type, message) = response.StatusCode switch
            {
                404 => ("NotFoundException", $"No endpoint answers {request.Method} {request.Path}; models answer POST /predictions/{{model}}, health GET /ping."),
                405 => ("MethodNotAllowedException", $"{request.Path} does not take {request.Method}; it takes {response.Headers.Allow}."),
                _ => ("HttpException", $"The request failed with status {response.StatusCode}."),
            };
            ClientErrors.Record(httpContext, "route", response.StatusCode, message);
            await TorchServeErrorBody.WriteAsync(httpContext, response.StatusCode, type, message).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception answering {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
