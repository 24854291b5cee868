using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Samples.Digits;

/// <summary>The sample server: the Serve runtime, the ONNX backend, this assembly's handlers.</summary>
public static class DigitsApp
{
    public static WebApplication Build(string[] args)
    {
        // Content root is the build output, where appsettings.json and model/ are copied,
        // so the app runs the same from any working directory.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services
            .AddServe(builder.Configuration.GetSection("Serve"))
            .AddOnnxRuntime()
            .AddServeHandlers(); // Generated: registers DigitsHandler as "digits".

        var app = builder.Build();
        app.MapServeEndpoints(); // Generated: GET /ping, POST /predictions/digits.
        return app;
    }
}
