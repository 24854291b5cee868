namespace Serve.Server;

/// <summary>What an inference call asks for: a model, optionally one of its versions, and a prediction or an explanation.</summary>
/// <param name="Model">The model's name, as the client spelled it.</param>
/// <param name="Version">The version asked for; null for the model's default version.</param>
/// <param name="Explain">True for an explanation (the handler's [Explain] stage), false for a prediction.</param>
public readonly record struct InferenceTarget(string Model, string? Version, bool Explain);
