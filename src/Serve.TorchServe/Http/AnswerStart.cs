using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace Serve.TorchServe.Http;

/// <summary>
/// Records a request's metrics as its answer starts, so a client that has its answer finds it
/// counted (recorded after the pipeline returns, a count could lag the answer the client already
/// read); or, when an exception escapes before any answer started, as the 500 the server answers.
/// </summary>
internal static class AnswerStart
{
    /// <summary>Runs <paramref name="next"/>; <paramref name="record"/> gets the answer's status, once.</summary>
    public static async Task Record(HttpContext context, RequestDelegate next, Action<int> record)
    {
        var once = new Once(context.Response, record);
        context.Response.OnStarting(static state => ((Once)state).Started(), once);
        try
        {
            await next(context);
        }
        catch when (!context.Response.HasStarted)
        {
            once.Record(StatusCodes.Status500InternalServerError);
            throw;
        }
    }

    private sealed class Once(HttpResponse response, Action<int> record)
    {
        private int _done;

        public Task Started()
        {
            Record(response.StatusCode);
            return Task.CompletedTask;
        }

        public void Record(int status)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                record(status);
            }
        }
    }
}
