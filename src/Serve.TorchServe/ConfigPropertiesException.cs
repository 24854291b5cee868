using System;

namespace Serve.TorchServe;

/// <summary>A config.properties that cannot be used; the message names the file, the line and the key.</summary>
public sealed class ConfigPropertiesException(string message) : Exception(message);
