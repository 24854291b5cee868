using System;
using System.IO;

namespace Serve.TorchServe.Tests;

public sealed class TorchServeConfigTests
{
    [Fact]
    public void TorchServes_keys_are_read_in_the_java_properties_format()
    {
        var config = TorchServeConfig.Parse("""
            # TorchServe's docker config, adapted
            ! another comment style
            inference_address=http://127.0.0.1:9080
            management_address: http://127.0.0.1:9081
            metrics_address   http://127.0.0.1:9082
            model_store=/models
            load_models=all
            disable_token_authorization=TRUE
            enable_model_api=true
            enable_metrics_api=false
            token_expiration_min=30
            allowed_urls=https://s3.amazonaws.com/.*,\
                https://torchserve.pytorch.org/.*
            max_request_size=1000
            max_response_size=2000
            max_archive_unpacked_size=3000
            default_workers_per_model=2
            job_queue_size=7
            default_response_timeout=9
            """, "config.properties");

        Assert.Equal(new Uri("http://127.0.0.1:9080"), config.InferenceAddress);
        Assert.Equal(new Uri("http://127.0.0.1:9081"), config.ManagementAddress);
        Assert.Equal(new Uri("http://127.0.0.1:9082"), config.MetricsAddress);
        Assert.Equal("/models", config.ModelStore);
        Assert.Equal("all", config.LoadModels);
        Assert.True(config.DisableTokenAuthorization);
        Assert.True(config.EnableModelApi);
        Assert.False(config.EnableMetricsApi);
        Assert.Equal(30, config.TokenExpirationMinutes);
        Assert.Equal(["https://s3.amazonaws.com/.*", "https://torchserve.pytorch.org/.*"], config.AllowedUrls);
        Assert.Equal((1000, 2000, 3000), (config.MaxRequestSize, config.MaxResponseSize, config.MaxArchiveUnpackedSize));
        Assert.Equal(3000, config.ExtractionLimits.MaxUnpackedBytes);
        Assert.Equal((2, 7, 9), (config.DefaultWorkersPerModel, config.JobQueueSize, config.DefaultResponseTimeout));
        Assert.Empty(config.Ignored);
    }

    [Fact]
    public void An_empty_file_gives_TorchServes_defaults_with_our_safe_ones()
    {
        var config = TorchServeConfig.Parse("", "config.properties");

        Assert.Equal("http://127.0.0.1:8080/", config.InferenceAddress.ToString());
        Assert.Equal("http://127.0.0.1:8081/", config.ManagementAddress.ToString());
        Assert.Equal("http://127.0.0.1:8082/", config.MetricsAddress.ToString());
        Assert.False(config.DisableTokenAuthorization);
        Assert.False(config.EnableModelApi);
        Assert.True(config.EnableMetricsApi);
        Assert.Equal(6_553_500, config.MaxRequestSize);
        Assert.Equal(6_553_500, config.MaxResponseSize);
        Assert.Null(config.AllowedUrls); // not TorchServe's patterns: safe defaults (ModelUrlPolicy)
        Assert.Null(config.LoadModels);
    }

    [Fact]
    public void The_gRPC_listeners_take_TorchServes_keys_and_defaults_on_127_0_0_1()
    {
        var defaults = TorchServeConfig.Parse("", "c");
        var config = TorchServeConfig.Parse("""
            grpc_inference_address=0.0.0.0
            grpc_management_address=localhost
            grpc_inference_port=9070
            grpc_management_port=0
            enable_grpc_ssl=true
            """, "c");

        Assert.Equal(("127.0.0.1", "127.0.0.1", 7070, 7071, false),
            (defaults.GrpcInferenceAddress, defaults.GrpcManagementAddress, defaults.GrpcInferencePort, defaults.GrpcManagementPort, defaults.EnableGrpcSsl));
        Assert.Equal(("0.0.0.0", "localhost", 9070, 0, true),
            (config.GrpcInferenceAddress, config.GrpcManagementAddress, config.GrpcInferencePort, config.GrpcManagementPort, config.EnableGrpcSsl));
        Assert.True(config.UsesHttps); // the gRPC listeners' TLS takes the https listeners' certificate
        Assert.Empty(config.Ignored);
    }

    [Fact]
    public void Escapes_are_read_as_java_reads_them()
    {
        var config = TorchServeConfig.Parse(@"model_store=C:\\models\u0041\:x", "c");

        Assert.Equal(@"C:\modelsA:x", config.ModelStore);
    }

    [Theory]
    [InlineData("max_request_size=lots", "line 1: max_request_size=lots is not a positive whole number")]
    [InlineData("max_request_size=-1", "is not a positive whole number")]
    [InlineData("enable_model_api=yes", "enable_model_api=yes is not true or false")]
    [InlineData("inference_address=127.0.0.1:8080", "is not an address such as http://127.0.0.1:8080")]
    [InlineData("inference_address=ftp://127.0.0.1:8443", "is not an address such as http://127.0.0.1:8080")]
    [InlineData("allowed_urls=https://ok/.*,(unclosed", "'(unclosed'")]
    [InlineData("token_expiration_min=0", "is not a positive number")]
    [InlineData(@"model_store=\u12", @"'\u' must be followed by four hex digits")]
    [InlineData("grpc_inference_port=70000", "grpc_inference_port=70000 is not a port number from 0 (any free port) to 65535")]
    [InlineData("grpc_management_port=-1", "is not a port number")]
    [InlineData("grpc_inference_address=example.com", "is not an IP address (127.0.0.1, 0.0.0.0) or localhost")]
    [InlineData("enable_grpc_ssl=1", "enable_grpc_ssl=1 is not true or false")]
    [InlineData("otlp_endpoint=collector:4317", "is not an OTLP endpoint such as http://127.0.0.1:4317")]
    public void A_bad_value_names_the_file_line_and_key(string line, string expected)
    {
        var e = Assert.Throws<ConfigPropertiesException>(() => TorchServeConfig.Parse("# first\n" + line, "ts.properties"));

        Assert.StartsWith("ts.properties", e.Message);
        Assert.Contains(expected.Replace("line 1", "line 2"), e.Message);
    }

    [Fact]
    public void An_otlp_endpoint_turns_traces_on()
    {
        Assert.Null(TorchServeConfig.Parse("", "c").OtlpEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:4318/v1/traces"), TorchServeConfig.Parse("otlp_endpoint=http://127.0.0.1:4318/v1/traces", "c").OtlpEndpoint);
    }

    [Fact]
    public void Keys_not_honoured_are_listed_not_dropped_silently()
    {
        var config = TorchServeConfig.Parse("number_of_netty_threads=4\nmodel_stroe=/typo\n", "c");

        Assert.Equal(
            ["number_of_netty_threads (line 1): a TorchServe setting this server does not honour", "model_stroe (line 2): not a TorchServe setting"],
            config.Ignored);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<ConfigPropertiesException>(() => TorchServeConfig.Read("/nonexistent/config.properties"));

        Assert.Contains("No config file at '/nonexistent/config.properties'", e.Message);
    }

    [Fact]
    public void The_archive_compression_ratio_is_a_setting()
    {
        var config = TorchServeConfig.Parse("max_archive_compression_ratio=7", "c");

        Assert.Equal(7, config.ExtractionLimits.MaxCompressionRatio);
        Assert.NotEqual(7, TorchServeConfig.Parse("", "c").ExtractionLimits.MaxCompressionRatio);
    }
}
