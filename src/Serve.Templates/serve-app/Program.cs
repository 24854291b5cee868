// Serves model/digits.onnx with DigitsHandler on http://127.0.0.1:8080 (appsettings.json):
//   dotnet run
//   curl --data-binary @images/3.png http://127.0.0.1:8080/predictions/digits
using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

// Content root is the build output, where appsettings.json and model/ are copied, so the app
// runs the same from any working directory.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Services
    .AddServe(builder.Configuration.GetSection("Serve"))
    .AddOnnxRuntime()
    .AddServeHandlers(); // Generated: registers this project's [Handler] classes.

var app = builder.Build();
app.MapServeEndpoints(); // Generated: GET /ping, POST /predictions/digits, the Open Inference Protocol.
app.Run();
