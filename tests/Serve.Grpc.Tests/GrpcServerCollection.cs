namespace Serve.Grpc.Tests;

/// <summary>The gRPC test classes share one server (starting one loads two models).</summary>
[CollectionDefinition(Name)]
public sealed class GrpcServerCollection : ICollectionFixture<GrpcServer>
{
    public const string Name = "gRPC server";
}
