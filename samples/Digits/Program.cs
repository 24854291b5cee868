// Serves the digits model on http://127.0.0.1:8080 (see appsettings.json):
//   curl --data-binary @samples/Digits/images/3.png http://127.0.0.1:8080/predictions/digits
Samples.Digits.DigitsApp.Build(args).Run();
