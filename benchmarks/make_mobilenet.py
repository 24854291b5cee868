#!/usr/bin/python3
"""Exports an untrained MobileNetV3-small (torchvision's architecture, random weights with a
fixed seed) to ONNX for the image benchmark. Its answers mean nothing; its cost is that of
the real model: same layers, same 224x224 input, same 1000 outputs. Not committed (~10 MB):
benchmarks/image-bench.sh runs this when the file is missing.
Needs Debian's python3-torch, python3-torchvision and python3-onnx."""
import sys
import torch
import torchvision
import onnx

out = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/ImageBench/model/mobilenet.onnx"
torch.manual_seed(0)
model = torchvision.models.mobilenet_v3_small(weights=None).eval()
example = torch.rand(1, 3, 224, 224)
torch.onnx.export(model, example, out, input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
onnx.checker.check_model(onnx.load(out))
print(f"wrote {out}: MobileNetV3-small, input [N,3,224,224] float, output [N,1000]")
