#!/usr/bin/env python3
"""Exports a TorchServe object_detector model (an eager model.py + state_dict, as
torch-model-archiver --model-file model.py --serialized-file model.pth packs it) to a file Serve's
object_detector runs: ONNX (recommended) or TorchScript.

    python3 export_torchserve_detector.py --model-file model.py --serialized-file model.pth \\
        --output detector.onnx [--example-image photo.jpg]

Then archive detector.onnx (or .pt) with handler object_detector and the same index_to_name.json.

The model is found as TorchServe's BaseHandler finds it: the one class defined in model.py,
constructed with no arguments, its state_dict loaded, in eval mode. It must be a torchvision-style
detector: called with a list of 3 x H x W float images (0..1), it returns one dict per image with
"boxes" (N x 4, x1 y1 x2 y2), "labels" and "scores" (Faster R-CNN, RetinaNet, FCOS, SSD, SSDlite).

- .onnx: torch.onnx.export on one image, opset 11 (the lowest torchvision's detectors export
  with), outputs boxes, labels and scores in that order, any image size.
- .pt: torch.jit.script of a wrapper that takes one image and returns (boxes, labels, scores),
  with torchvision's batched_nms replaced by the same algorithm in TorchScript: TorchSharp's libtorch
  has no torchvision C++ operators (torchvision::nms, roi_align), and it reads no dicts. Models that
  call roi_align (Faster R-CNN, Mask R-CNN) therefore export to ONNX only; SSD, SSDlite, RetinaNet
  and FCOS export to both. The TorchScript NMS is slower than torchvision's C++ one.

After exporting, the script runs the exported model on the example image (a generated one if none
is given) and checks that it gives the eager model's boxes, labels and scores, and says so.
Needs torch and torchvision (Debian: apt-get install python3-torchvision python3-onnx); the ONNX
check needs onnxruntime when installed, else it checks the ONNX graph only.
"""
import argparse
import importlib.util
import inspect
import os
import re
import sys
import zipfile
from typing import List, Tuple

import torch
import torchvision
from torch import Tensor, nn


def load_eager_model(model_file, serialized_file):
    """TorchServe's BaseHandler._load_pickled_model: the only class model.py defines, no arguments, its state_dict."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(model_file)))
    name = os.path.splitext(os.path.basename(model_file))[0]
    spec = importlib.util.spec_from_file_location(name, model_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
    if len(classes) != 1:
        raise SystemExit(f"{model_file} defines {len(classes)} classes ({', '.join(c.__name__ for c in classes)}); "
                         "TorchServe (and this script) need exactly one, the model.")
    model = classes[0]()
    model.load_state_dict(torch.load(serialized_file, map_location="cpu"))
    return model.eval()


class PerImage(nn.Module):
    """One image in, (boxes, labels, scores) out: the form TorchSharp can return."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        images: List[Tensor] = [image]
        _, detections = self.model(images)
        detection = detections[0]
        return detection["boxes"], detection["labels"], detection["scores"]


class PerImageEager(nn.Module):
    """The same for ONNX export, which traces the eager model (its dict has SSD's or R-CNN's key order)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image: Tensor):
        detection = self.model([image])[0]
        return detection["boxes"], detection["labels"], detection["scores"]


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = torch.max(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.min(a[:, None, 2:], b[None, :, 2:])
    size = (bottom_right - top_left).clamp(min=0)
    intersection = size[:, :, 0] * size[:, :, 1]
    return intersection / (area_a[:, None] + area_b[None, :] - intersection)


def nms_in_torchscript(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """torchvision's batched_nms (classes kept apart by offsetting their boxes) and its CPU nms
    kernel (highest score first; drop every later box whose IoU with a kept one exceeds the threshold)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    shifted = boxes + offsets[:, None]
    order = scores.argsort(descending=True)
    iou = box_iou(shifted[order], shifted[order])
    suppressed = torch.zeros(order.numel(), dtype=torch.bool)
    keep: List[int] = []
    for i in range(order.numel()):
        if not bool(suppressed[i]):
            keep.append(i)
            suppressed = suppressed | (iou[i] > iou_threshold)
    return order[torch.tensor(keep, dtype=torch.int64)]


def export_onnx(model, example, output):
    torch.onnx.export(PerImageEager(model).eval(), (example,), output, opset_version=11,
                      input_names=["images"], output_names=["boxes", "labels", "scores"],
                      dynamic_axes={"images": {1: "height", 2: "width"}, "boxes": {0: "detections"},
                                    "labels": {0: "detections"}, "scores": {0: "detections"}})


def export_torchscript(model, output):
    """torch.jit.script of PerImage(model) with batched_nms in TorchScript, saved; refused (and the file
    removed) when the saved code still calls a torchvision C++ operator (Faster R-CNN's roi_align)."""
    original = torchvision.ops.boxes.batched_nms
    torchvision.ops.boxes.batched_nms = nms_in_torchscript
    try:
        torch.jit.save(torch.jit.script(PerImage(model).eval()), output)
    finally:
        torchvision.ops.boxes.batched_nms = original
    with zipfile.ZipFile(output) as archive:
        code = "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist() if "/code/" in name and name.endswith(".py"))
    operators = sorted(set(re.findall(r"ops\.torchvision\.(\w+)", code)))
    if operators:
        os.remove(output)
        raise SystemExit(f"The scripted model calls torchvision's C++ operators ({', '.join(operators)}), which Serve's TorchSharp "
                         f"backend does not have: export it to ONNX instead (--output {os.path.splitext(output)[0]}.onnx).")


def check(model, output, example):
    with torch.no_grad():
        expected = model([example])[0]
    if output.endswith(".pt"):
        boxes, labels, scores = torch.jit.load(output)(example)
    else:
        try:
            import onnxruntime
        except ImportError:
            import onnx
            onnx.checker.check_model(onnx.load(output))
            print(f"{output}: a valid ONNX graph (onnxruntime is not installed, so its answer was not compared)")
            return
        session = onnxruntime.InferenceSession(output, providers=["CPUExecutionProvider"])
        boxes, labels, scores = (torch.from_numpy(v) for v in session.run(["boxes", "labels", "scores"], {"images": example.numpy()}))
    assert torch.equal(labels.to(torch.int64), expected["labels"]), "the exported model's labels differ from the eager model's"
    assert (boxes - expected["boxes"]).abs().max().item() < 1e-3 if len(boxes) else True, "its boxes differ"
    assert (scores - expected["scores"]).abs().max().item() < 1e-4 if len(scores) else True, "its scores differ"
    print(f"{output}: {len(scores)} detections on the example image, as the eager model's")


def example_image(path):
    if path:
        from PIL import Image
        from torchvision.transforms.functional import to_tensor
        return to_tensor(Image.open(path).convert("RGB"))
    generator = torch.Generator().manual_seed(0)
    return torch.rand(3, 240, 320, generator=generator)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-file", required=True, help="the archive's model.py")
    parser.add_argument("--serialized-file", required=True, help="the archive's state_dict (.pth, .pt)")
    parser.add_argument("--output", required=True, help="detector.onnx (recommended) or detector.pt (TorchScript)")
    parser.add_argument("--example-image", help="an image to export with and to check the export on")
    args = parser.parse_args(argv)
    if not args.output.endswith((".onnx", ".pt")):
        raise SystemExit("--output must end with .onnx or .pt")
    model = load_eager_model(args.model_file, args.serialized_file)
    example = example_image(args.example_image)
    if args.output.endswith(".onnx"):
        export_onnx(model, example, args.output)
    else:
        export_torchscript(model, args.output)
    check(model, args.output, example)


if __name__ == "__main__":
    main()
