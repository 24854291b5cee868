using System;
using System.Collections.Generic;
using System.Linq;

namespace Serve.TorchServe.Tests;

/// <summary>TorchServe's environment-variable configuration (ConfigManager.setSystemVars and $$NAME$$ values).</summary>
public sealed class EnvironmentConfigTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables)
    {
        var set = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => set.GetValueOrDefault(name);
    }

    [Fact]
    public void With_enable_envvars_config_TS_variables_override_the_file()
    {
        var environment = Environment(
            ("TS_INFERENCE_ADDRESS", "http://127.0.0.1:9080"), ("TS_JOB_QUEUE_SIZE", "7"), ("TS_MAX_RESPONSE_SIZE", "1234"),
            ("TS_TOKEN_EXPIRATION_TIME_MIN", "5"), ("TS_DISABLE_TOKEN_AUTHORIZATION", "true"), ("TS_NUMBER_OF_NETTY_THREADS", "4"));
        var config = TorchServeConfig.Parse("enable_envvars_config=true\ninference_address=http://127.0.0.1:8080\njob_queue_size=100", "test", environment)
            .WithEnvironment(environment);

        Assert.Equal(new Uri("http://127.0.0.1:9080"), config.InferenceAddress);
        Assert.Equal(7, config.JobQueueSize);
        Assert.Equal(1234, config.MaxResponseSize);
        Assert.Equal(5, config.TokenExpirationMinutes);
        Assert.True(config.DisableTokenAuthorization);
        Assert.Contains("number_of_netty_threads (environment variable TS_NUMBER_OF_NETTY_THREADS): a TorchServe setting this server does not honour", config.Ignored);
    }

    [Fact]
    public void Without_enable_envvars_config_the_variables_are_not_read()
    {
        var config = TorchServeConfig.Parse("job_queue_size=100", "test").WithEnvironment(Environment(("TS_JOB_QUEUE_SIZE", "7")));

        Assert.Equal(100, config.JobQueueSize);
    }

    [Fact]
    public void TS_ALLOWED_URLS_counts_only_with_use_env_allowed_urls()
    {
        var environment = Environment(("TS_ALLOWED_URLS", "https://evil\\.example/.*"));

        var refused = TorchServeConfig.Parse("enable_envvars_config=true", "test").WithEnvironment(environment);
        var allowed = TorchServeConfig.Parse("enable_envvars_config=true\nuse_env_allowed_urls=true", "test").WithEnvironment(environment);

        Assert.Null(refused.AllowedUrls);
        Assert.Equal(["https://evil\\.example/.*"], allowed.AllowedUrls);
    }

    [Fact]
    public void A_bad_value_names_the_variable()
    {
        var error = Assert.Throws<ConfigPropertiesException>(() =>
            TorchServeConfig.Parse("enable_envvars_config=true", "test").WithEnvironment(Environment(("TS_JOB_QUEUE_SIZE", "many"))));

        Assert.Equal("Environment variable TS_JOB_QUEUE_SIZE=many is not a positive whole number.", error.Message);
    }

    [Fact]
    public void Dollar_dollar_names_are_replaced_by_the_variables_values_and_a_missing_one_is_an_error()
    {
        var environment = Environment(("STORE_ROOT", "/srv"), ("PORT", "9090"));

        var config = TorchServeConfig.Parse("model_store=$$STORE_ROOT$$/models\ninference_address=http://127.0.0.1:$$PORT$$", "test", environment);
        var error = Assert.Throws<ConfigPropertiesException>(() => TorchServeConfig.Parse("model_store=$$NOT_SET$$", "test", environment));

        Assert.Equal("/srv/models", config.ModelStore);
        Assert.Equal(9090, config.InferenceAddress.Port);
        Assert.Equal("test line 1: model_store names the environment variable NOT_SET ($$NOT_SET$$), which is not set.", error.Message);
    }

    [Fact]
    public void Every_key_this_server_honours_has_TorchServes_variable_name()
    {
        var variables = TorchServeConfig.EnvironmentVariables.ToDictionary(v => v.Key, v => v.Variable);

        Assert.Equal("TS_INFERENCE_ADDRESS", variables["inference_address"]);
        Assert.Equal("TS_MODEL_STORE", variables["model_store"]);
        Assert.Equal("TS_TOKEN_EXPIRATION_TIME_MIN", variables["token_expiration_min"]);
        Assert.Equal("TS_ENABLE_MODEL_API", variables["enable_model_api"]);
        Assert.False(variables.ContainsKey("enable_envvars_config"), "TorchServe reads enable_envvars_config from the file only");
    }
}
