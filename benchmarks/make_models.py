#!/usr/bin/python3
"""Writes the benchmark's models: torchvision's architecture with random weights from a fixed seed,
as ONNX (model.onnx) and TorchScript (model.pt), into OUT_DIR. Their answers mean nothing; their cost
is the real model's: same layers, same 224x224 input, same 1000 outputs. Not committed (MobileNetV3-small
~10 MB, ResNet-50 ~100 MB each); benchmarks/run.sh runs this when a file is missing.

    /usr/bin/python3 benchmarks/make_models.py OUT_DIR [mobilenet_v3_small|resnet50]

Needs torch, torchvision and onnx (Debian's python3-torch, python3-torchvision, python3-onnx; on the
GPU machine its own torch). Works with torch 1.13 and 2.x."""
import os
import sys

import onnx
import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/.work/models/mobilenet_v3_small"
arch = sys.argv[2] if len(sys.argv) > 2 else "mobilenet_v3_small"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = getattr(torchvision.models, arch)(weights=None).eval()
example = torch.rand(1, 3, 224, 224)

onnx_path = os.path.join(out, "model.onnx")
kwargs = {"dynamo": False} if int(torch.__version__.split(".")[0]) >= 2 else {}
torch.onnx.export(model, example, onnx_path, input_names=["image"], output_names=["logits"],
                  dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, **kwargs)
onnx.checker.check_model(onnx.load(onnx_path))

pt_path = os.path.join(out, "model.pt")
with torch.no_grad():
    torch.jit.save(torch.jit.trace(model, example), pt_path)
print(f"wrote {onnx_path} and {pt_path}: {arch}, seed 0, input [N,3,224,224] float, output [N,1000]")
