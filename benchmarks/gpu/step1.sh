#!/usr/bin/env bash
# On the GPU machine, first carry (benchmarks/gpu/pack.sh says how): ONNX Runtime's CUDA provider
# into /tmp/serve-gpu/lib, and the seeded ResNet-50 as ONNX and TorchScript, made with the
# machine's own torch (BENCH_MODEL=mobilenet_v3_small for a quick check). Needs python3 with
# torch, torchvision and onnx (PYTHON= names another python); decompresses with python's lzma (no xz there).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=/tmp/serve-gpu
mkdir -p "$dest/lib"
unxz() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
unxz benchmarks/.work/gpu/step1/libonnxruntime_providers_cuda.so.xz "$dest/lib/libonnxruntime_providers_cuda.so"
model=${BENCH_MODEL:-resnet50}
[ -f "$dest/models/$model/model.onnx" ] || "${PYTHON:-python3}" benchmarks/make_models.py "$dest/models/$model" "$model"
ls -la "$dest/lib" "$dest/models/$model"
