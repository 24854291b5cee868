namespace Serve.TorchServe.Http;

/// <summary>The directory archives are unpacked into while the server runs.</summary>
public sealed record ModelWorkDirectory(string Path);
