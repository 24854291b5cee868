namespace Serve.TorchServe.Tests.Postman;

/// <summary>What a suite checks of a prediction's body beside its status.</summary>
public enum BodyCheck
{
    /// <summary>The suite checks the status only (no content-type in its data).</summary>
    StatusOnly,

    /// <summary>TorchServe's image_classification validator: the top-5 labels, each probability within 5%.</summary>
    ImageClassification,

    /// <summary>A digit: TorchServe's mnist handler answers "0" (text/plain); the stand-in digits handler <c>{"digit": 0, ...}</c>.</summary>
    DigitZero,

    /// <summary>The suite compares the body with a BERT handler's text (TorchServe's example handler, Python, not run here): the status only.</summary>
    ExampleHandlerText,
}

/// <summary>
/// One iteration of TorchServe's inference collection (register with initial_workers=1 and
/// synchronous=true, predict the file, unregister, scrape the metrics): TorchServe's url, model
/// name and file, and the stand-in that serves it here.
/// </summary>
public sealed record InferenceIteration(int Index, string Url, string ModelName, string File, BodyCheck Check, StandIn StandIn, string Request)
{
    /// <summary>The prediction's status here where it is not TorchServe's 200, and the row of docs/torchserve.md that says why.</summary>
    public (int Status, string Why)? PredictDiffers { get; init; }

    public override string ToString() => $"#{Index} {ModelName} ({Url})";
}

/// <summary>
/// TorchServe's Postman inference suite (test/postman/inference_data.json, 22 iterations of
/// inference_api_test_collection.json) and increased_timeout_inference.json's one. Its models are
/// torchvision's and Hugging Face's (tens to hundreds of MB, with Python handlers); each is stood
/// in for by a small model of the same kind under the same archive name, served by the built-in
/// of that kind: image classifiers by image_classifier on the seeded classifier (ONNX; TorchScript
/// for the *_scripted ones), detectors by object_detector, segmenters by image_segmenter, MNIST by
/// the digits handler, the BERT examples by text_classifier. kitten.jpg and persons.jpg are stood
/// in for by china.jpg (whose top-5 under the seeded classifier torchvision computed:
/// fixtures/vision/expected.json), mnist's 0.png by the digits sample's 0.png.
/// </summary>
public static class InferenceSuite
{
    private const string Remote = "https://torchserve.pytorch.org/mar_files/";
    private const string Photo = "vision/china.jpg";
    // The suite's two text files, as they are in pytorch/serve's examples.
    private const string QuestionText = """text:{"question" :"Who was Jim Henson?", "context": "Jim Henson was a nice puppet"}""";
    private const string SampleText = "text:Bloomberg has decided to publish a new report on global economic situation.";

    private static StandIn Classifier(string file) => new(file, "classifier", "image_classifier", "vision/classifier.onnx", "vision/index_to_name.json");

    private static StandIn ScriptedClassifier(string file) => new(file, "classifier", "image_classifier", "vision/classifier.pt", "vision/index_to_name.json");

    private static StandIn Detector(string file) => new(file, "detector", "object_detector", "vision/detector/detector.onnx", "vision/detector/index_to_name.json");

    private static StandIn Segmenter(string file) => new(file, "segmenter", "image_segmenter", "vision/segmenter/segmenter.onnx");

    private static StandIn Digits(string file) => new(file, "mnist", "digits", "digits-model/digits.onnx");

    private static StandIn Bert(string file) => new(file, "bert", "text_classifier", "text/bert/model.onnx", "text/bert/vocab.txt", "text/bert/index_to_name.json");

    public static readonly InferenceIteration[] Iterations =
    [
        new(0, "squeezenet1_1.mar", "squeezenet1_1", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("squeezenet1_1.mar"), Photo),
        new(1, Remote + "squeezenet1_1_scripted.mar", "squeezenet1_1_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("squeezenet1_1_scripted.mar"), Photo),
        new(2, "densenet161.mar", "densenet161", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("densenet161.mar"), Photo),
        new(3, "alexnet.mar", "alexnet", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("alexnet.mar"), Photo),
        new(4, Remote + "alexnet_scripted.mar", "alexnet_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("alexnet_scripted.mar"), Photo),
        new(5, "resnet-18.mar", "resnet-18", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("resnet-18.mar"), Photo),
        new(6, Remote + "resnet-18_scripted.mar", "resnet-18_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("resnet-18_scripted.mar"), Photo),
        new(7, "vgg16.mar", "vgg16", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("vgg16.mar"), Photo),
        new(8, Remote + "vgg16_scripted.mar", "vgg16_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("vgg16_scripted.mar"), Photo),
        new(9, Remote + "mnist_v2.mar", "mnist", "../examples/image_classifier/mnist/test_data/0.png", BodyCheck.DigitZero, Digits("mnist_v2.mar"), "images/0.png"),
        new(10, Remote + "mnist_scripted_v2.mar", "mnist_scripted", "../examples/image_classifier/mnist/test_data/0.png", BodyCheck.DigitZero, Digits("mnist_scripted_v2.mar"), "images/0.png"),
        new(11, "fastrcnn.mar", "fastrcnn", "../examples/object_detector/persons.jpg", BodyCheck.StatusOnly, Detector("fastrcnn.mar"), Photo),
        new(12, "maskrcnn.mar", "maskrcnn", "../examples/object_detector/persons.jpg", BodyCheck.StatusOnly, Detector("maskrcnn.mar"), Photo),
        new(13, "fcn_resnet_101.mar", "fcn_resnet_101", "../examples/image_segmenter/persons.jpg", BodyCheck.StatusOnly, Segmenter("fcn_resnet_101.mar"), Photo),
        new(14, Remote + "fcn_resnet_101_scripted.mar", "fcn_resnet_101_scripted", "../examples/image_segmenter/persons.jpg", BodyCheck.StatusOnly, Segmenter("fcn_resnet_101_scripted.mar"), Photo),
        new(15, "deeplabv3_resnet_101_eager.mar", "deeplabv3_resnet_101_eager", "../examples/image_segmenter/persons.jpg", BodyCheck.StatusOnly, Segmenter("deeplabv3_resnet_101_eager.mar"), Photo),
        new(16, "https://torchserve.s3.amazonaws.com/mar_files/deeplabv3_resnet_101_scripted.mar", "deeplabv3_resnet_101_scripted", "../examples/image_segmenter/persons.jpg", BodyCheck.StatusOnly, Segmenter("deeplabv3_resnet_101_scripted.mar"), Photo),
        new(17, "resnet-152-batch.mar", "resnet152", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, Classifier("resnet-152-batch.mar"), Photo),
        new(18, Remote + "resnet-152-batch_scripted.mar", "resnet-152-batch_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("resnet-152-batch_scripted.mar"), Photo),
        new(19, Remote + "distill_bert_qa_eager.mar", "distill_bert_qa_eager", "../examples/Huggingface_Transformers/sample_text.txt", BodyCheck.StatusOnly, Bert("distill_bert_qa_eager.mar"), QuestionText)
        {
            // TorchServe runs the example's Python question-answering handler from the archive; no built-in
            // answers questions, and the text classifier standing in refuses a JSON body without "data".
            PredictDiffers = (400, "handler in an archive"),
        },
        new(20, Remote + "bert_token_classification_no_torchscript.mar", "bert_token_classification_no_torchscript", "../examples/text_classification/sample_text.txt", BodyCheck.ExampleHandlerText, Bert("bert_token_classification_no_torchscript.mar"), SampleText),
        new(21, Remote + "bert_seqc_without_torchscript.mar", "bert_seqc_without_torchscript", "../examples/text_classification/sample_text.txt", BodyCheck.ExampleHandlerText, Bert("bert_seqc_without_torchscript.mar"), SampleText),
        // increased_timeout_inference.json, run through the same collection.
        new(22, Remote + "densenet161_scripted.mar", "densenet161_scripted", "../examples/image_classifier/kitten.jpg", BodyCheck.ImageClassification, ScriptedClassifier("densenet161_scripted.mar"), Photo),
    ];
}
