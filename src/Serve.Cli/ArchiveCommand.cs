using System;
using System.CommandLine;
using Serve.Archives;

namespace Serve.Cli;

/// <summary><c>serve archive</c>: torch-model-archiver's flags, writing the same manifest fields.</summary>
internal static class ArchiveCommand
{
    public static Command Create()
    {
        var modelName = new Option<string>("--model-name", "-n")
        {
            Description = "The model's name; the archive is written as NAME.mar (or NAME.tar.gz, or a directory NAME). Letters, digits, '_', '-' and '.'.",
            Required = true,
        };
        var version = new Option<string?>("--version", "-v") { Description = "The model's version, e.g. 1.0." };
        var serializedFile = new Option<string?>("--serialized-file") { Description = "The weights: .onnx, TorchScript or state_dict .pt, .safetensors." };
        var handler = new Option<string>("--handler")
        {
            Description = "The name of a handler compiled into the server (e.g. image_classifier). It is recorded, not copied: no code is loaded from archives.",
            Required = true,
        };
        var extraFiles = new Option<string?>("--extra-files") { Description = "Comma-separated files, directories (their contents) or wildcards to add, e.g. index_to_name.json." };
        var configFile = new Option<string?>("--config-file") { Description = "A model-config.yaml (batchSize, workers, onnx and pt2 settings)." };
        var requirementsFile = new Option<string?>("--requirements-file") { Description = "Recorded and copied for TorchServe compatibility; this server installs nothing from it." };
        var exportPath = new Option<string>("--export-path") { Description = "The directory to write the archive to (created if missing).", DefaultValueFactory = _ => "." };
        var format = new Option<string>("--archive-format")
        {
            Description = "default: a .mar zip; tgz: NAME.tar.gz; no-archive: the unpacked directory.",
            DefaultValueFactory = _ => "default",
        };
        format.AcceptOnlyFromAmong("default", "tgz", "no-archive");
        var force = new Option<bool>("--force", "-f") { Description = "Overwrite an archive that already exists." };

        var command = new Command("archive", "Make a model archive (.mar) from a model file, a handler name and extra files, as torch-model-archiver does.")
        {
            modelName, version, serializedFile, handler, extraFiles, configFile, requirementsFile, exportPath, format, force,
        };
        command.SetAction(parse =>
        {
            var spec = new ArchiveSpec
            {
                ModelName = parse.GetValue(modelName)!,
                Version = parse.GetValue(version),
                SerializedFile = parse.GetValue(serializedFile),
                Handler = parse.GetValue(handler)!,
                ExtraFiles = parse.GetValue(extraFiles)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [],
                ConfigFile = parse.GetValue(configFile),
                RequirementsFile = parse.GetValue(requirementsFile),
                ExportPath = parse.GetValue(exportPath)!,
                Format = parse.GetValue(format) switch
                {
                    "tgz" => ModelArchiveFormat.Tgz,
                    "no-archive" => ModelArchiveFormat.NoArchive,
                    _ => ModelArchiveFormat.Default,
                },
                Force = parse.GetValue(force),
            };
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var path = ModelArchiveWriter.Write(spec, DateTime.Now);
                output.WriteLine($"Wrote {path}");
                return 0;
            }
            catch (ModelArchiveException e)
            {
                error.WriteLine($"serve archive: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
