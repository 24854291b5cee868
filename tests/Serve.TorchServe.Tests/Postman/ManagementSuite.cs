namespace Serve.TorchServe.Tests.Postman;

/// <summary>
/// One request of a Postman suite and the status TorchServe's suite expects; where this server
/// answers otherwise on purpose, its status and the row of docs/torchserve.md's table of deliberate
/// differences that says why (a difference that follows from an earlier one, such as unregistering a
/// model whose registration was refused, names that earlier row).
/// </summary>
public sealed record PostmanCase(int Index, string Test, string Method, string Path, int TorchServe, int? Ours = null, string? Why = null)
{
    public int Expected => Ours ?? TorchServe;

    public override string ToString() => $"#{Index} {Test}: {Method} {Path}";
}

/// <summary>
/// TorchServe's management suite (pytorch/serve test/postman/management_data.json, 82 requests
/// run in order against one server): every request as it is, with TorchServe's expected status.
/// The archive variables ({{mar_path_X}}) are the archive file names in the model store, as the
/// suite's environment.json sets them.
/// </summary>
public static class ManagementSuite
{
    public static readonly PostmanCase[] Cases =
    [
        new(0, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(1, "Register Model Mnist", "POST", "models?url=mnist.mar&model_name=mnist", 200),
        new(2, "Register Model Densenet161", "POST", "models?url=densenet161.mar&model_name=densenet161", 200),
        new(3, "Model Re-Registration Densenet161", "POST", "models?url=https://torchserve.pytorch.org/mar_files/densenet161.mar&model_name=densenet161", 500, 409, "Re-registering a version from a URL"),
        new(4, "UnRegister Model Densenet161", "DELETE", "models/densenet161", 200),
        new(5, "Register Model missing url", "POST", "models", 400),
        new(6, "UnRegister Existing Mnist Model", "DELETE", "models/mnist", 200),
        new(7, "Register Mnist Model with Invalid Handler", "POST", "models?url=mnist.mar&model_name=mnist&handler=invalidHandler", 200, 400, "unknown handler at register"),
        new(8, "UnRegister Model mnist", "DELETE", "models/mnist", 200, 404, "unknown handler at register"),
        new(9, "Register Mnist Model with Invalid Handler", "POST", "models?url=mnist.mar&model_name=mnist&handler=invalidHandler", 200, 400, "unknown handler at register"),
        new(10, "Scale Invalid Mnist Handler Model with Min Workers - Synchronous", "PUT", "models/mnist?min_worker=1&synchronous=true", 500, 404, "unknown handler at register"),
        new(11, "UnRegister Model mnist", "DELETE", "models/mnist", 200, 404, "unknown handler at register"),
        new(12, "Get Model - All Versions", "GET", "models/squeezenet1_1/all", 200),
        new(13, "Get Model with Version", "GET", "models/squeezenet1_1/1.0", 200),
        new(14, "Get Valid Model", "GET", "models/squeezenet1_1", 200),
        new(15, "UnRegister Model", "DELETE", "models/squeezenet1_1", 200),
        new(16, "Register Model invalid Runtime", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1&runtime=python4", 400),
        new(17, "List Models", "GET", "models?limit=&next_page_token=", 200),
        new(18, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(19, "Scale Min Workers - Asynchronous", "PUT", "models/squeezenet1_1?min_worker=1", 202),
        new(20, "Scale Min Workers - Synchronous", "PUT", "models/squeezenet1_1?min_worker=1&synchronous=true", 200),
        new(21, "Scale Min Workers for a Version", "PUT", "models/squeezenet1_1/1.0?min_worker=1&synchronous=true", 200),
        new(22, "Scale Min Workers for a Valid model but Invalid Version", "PUT", "models/squeezenet1_1/0.0?min_worker=1&synchronous=true", 404),
        new(23, "Scale Min Workers with GPU", "PUT", "models/squeezenet1_1?min_worker=1&number_gpu=1", 202),
        new(24, "Set Default Model Version", "PUT", "models/squeezenet1_1/1.0/set-default", 200),
        new(25, "Set Default Valid Model Invalid Version", "PUT", "models/squeezenet1_1/0.0/set-default", 404),
        new(26, "Set Default Invalid Model valid Version", "PUT", "models/squeezenet0_1/1.0/set-default", 404),
        new(27, "UnRegister Model", "DELETE", "models/squeezenet1_1", 200),
        new(28, "Register Model with Additional Params", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1&handler=serve/ts/torch_handler/image_classifier.py:handle", 200),
        new(29, "UnRegister Model", "DELETE", "models/squeezenet1_1", 200),
        new(30, "Register Model with Additional Params and startup_timeout as 0", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1&batch_size=3&initial_workers=3&startup_timeout=0", 500),
        new(31, "Register Model with startup_timeout as 0", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1&startup_timeout=0", 200, 500, "register without `initial_workers`"),
        new(32, "UnRegister Model", "DELETE", "models/squeezenet1_1", 200, 404, "register without `initial_workers`"),
        new(33, "Register Model with Batch Size", "POST", "models?url=resnet-152-batch.mar&model_name=resnet152&batch_size=2", 200),
        new(34, "UnRegister Model Resnet152", "DELETE", "models/resnet152", 200),
        new(35, "Register Model with Non integer Batch Size", "POST", "models?url=resnet-152-batch.mar&model_name=resnet152&batch_size=dd&initial_workers=1", 200, 400, "a number or boolean it cannot parse"),
        new(36, "UnRegister Model Resnet152", "DELETE", "models/resnet152", 200, 404, "a number or boolean it cannot parse"),
        new(37, "Register Model with integer Batch Size but non integer max batch delay parameter", "POST", "models?url=resnet-152-batch.mar&model_name=resnet152&batch_size=2&initial_workers=1&max_batch_delay=junk", 200, 400, "a number or boolean it cannot parse"),
        new(38, "UnRegister Model Resnet152", "DELETE", "models/resnet152", 200, 404, "a number or boolean it cannot parse"),
        new(39, "Register Squeezenet Model Negative initial workers", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1&initial_workers=-1", 200, 400, "a number out of range"),
        new(40, "UnRegister Model", "DELETE", "models/squeezenet1_1", 200, 404, "a number out of range"),
        new(41, "Register Resnet Model Synchronous", "POST", "models?url=resnet-18.mar&model_name=resnet-18&synchronous=true", 200),
        new(42, "UnRegister Model Resnet-18", "DELETE", "models/resnet-18", 200),
        new(43, "Register Model non boolean Synchronous value", "POST", "models?url=resnet-18.mar&model_name=resnet-18&synchronous=-1", 200, 400, "a number or boolean it cannot parse"),
        new(44, "UnRegister Model Resnet-18", "DELETE", "models/resnet-18", 200, 404, "a number or boolean it cannot parse"),
        new(45, "Register Resnet Model Asynchronous", "POST", "models?url=resnet-18.mar&model_name=resnet-18&synchronous=false", 200, 202, "register without `initial_workers`"),
        new(46, "List with Limit", "GET", "models?limit=1", 200),
        new(47, "List with \"Negative\" Limit Value", "GET", "models?limit=-1", 200),
        new(48, "List with Pagination", "GET", "models?limit=1&next_page_token=1", 200),
        new(49, "List with \"Negative\" Pagination", "GET", "models?limit=1&next_page_token=-1", 200),
        new(50, "Update GPU Count", "PUT", "models/resnet-18?number_gpu=10", 202),
        new(51, "Update with \"Negative\" GPU Count", "PUT", "models/resnet-18?number_gpu=-1", 202),
        new(52, "Scale up Workers -  Synchronous", "PUT", "models/resnet-18?min_worker=1&max_worker=1&synchronous=true", 200),
        new(53, "Scale up Workers - Asynchronous", "PUT", "models/resnet-18?min_worker=1&max_worker=1&synchronous=false", 202),
        new(54, "Update Timeout to -1", "PUT", "models/resnet-18?timeout=-1", 202),
        new(55, "Update Timeout to 0", "PUT", "models/resnet-18?timeout=0", 202),
        new(56, "Register Model - Empty URL , Valid Model Name", "post", "models?url=&model_name=resnet-18", 404, 400, "empty `url` at register"),
        new(57, "Register Model - Invalid URL", "POST", "models?url=https://torchserve.pytorch.org/mar_files/invalid-resnet-18.mar&model_name=invalid-resnet18", 400),
        new(58, "List Model - Invalid Model", "GET", "models/invalid_squeezenet1_1", 404),
        new(59, "List Model - Valid model name, Invalid Model version", "GET", "models/squeezenet1_1/0.0", 404),
        new(60, "List Models - Invalid Next Page Token(Outside registered models range)", "GET", "models?next_page_token=12", 200),
        new(61, "Scale Workers - Valid \"min_worker\" value, Invalid \"synchronous\"", "PUT", "models/resnet-18?min_worker=1&synchronous=Nan", 202, 400, "a number or boolean it cannot parse"),
        new(62, "Scale Workers - Invalid parameter values for both \"synchronous\" & \"min_worker\" params", "PUT", "models/resnet-18?min_worker=nan&synchronous=nan", 202, 400, "a number or boolean it cannot parse"),
        new(63, "Scale down workers by Calling Update Workers API with no parameters", "PUT", "models/resnet-18", 202),
        new(64, "Update Worker for an invalid/non-existent model", "PUT", "models/resnet181?min_worker=1", 404),
        new(65, "Update Worker with Invalid Worker Count", "PUT", "models/resnet-18?min_worker=2&max_worker=1", 400),
        new(66, "Update Worker with Positive Worker Count", "PUT", "models/resnet-18?min_worker=1", 202),
        new(67, "Update Worker with \"Zero\" Worker Count", "PUT", "models/resnet-18?min_worker=0", 202),
        new(68, "Scale worker by calling Update Worker API with negative min worker Count", "PUT", "models/resnet-18?min_worker=-1", 500, 400, "a number out of range"),
        new(69, "Scale worker by calling Update Worker API with negative max worker Count", "PUT", "models/resnet-18?max_worker=-1", 400),
        new(70, "Update Version - Invalid Model", "PUT", "models/invalid_squeezenet1_1/1.0/set-default", 404),
        new(71, "UnRegister Model Resnet-18", "DELETE", "models/resnet-18", 200),
        new(72, "UnRegister Valid Model name, but Invalid Model version", "DELETE", "models/squeezenet1_1/0.0", 404),
        new(73, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(74, "UnRegister Model with synchronous value as true", "DELETE", "models/squeezenet1_1/?synchronous=true", 200),
        new(75, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(76, "UnRegister Model with synchronous value as non boolean", "DELETE", "models/squeezenet1_1/?synchronous=nan", 200),
        new(77, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(78, "UnRegister Model with synchronous value as non boolean", "DELETE", "models/squeezenet1_1/?timeout=true", 200),
        new(79, "Register Model", "POST", "models?url=squeezenet1_1.mar&model_name=squeezenet1_1", 200),
        new(80, "UnRegister Model with non boolean synchronous value & non integer timeout value", "DELETE", "models/squeezenet1_1/?timeout=true&synchronous=-1", 200),
        new(81, "UnRegister Invalid Model Name", "DELETE", "models/invalid_squeezenet1_1", 404),
    ];
}
