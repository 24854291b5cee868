#!/usr/bin/env bash
# IOBinding against unbound runs (issue 19 item 3): a one-input ONNX model run on ROUNDS batches
# of BATCH per-request tensors, stacked into one (as a per-request preprocess's batch is), with
# onnx.ioBinding true (reused host buffers) and false (a new batch array and new outputs each run)
# in turn, in one process. Prints managed bytes allocated and time per batch, and the load average.
#   bash benchmarks/iobinding.sh [MODEL.onnx] [BATCH] [ROUNDS]
#   (default: benchmarks/.work/models/mobilenet_v3_small/model.onnx, made by make_models.py; 8; 200)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-benchmarks/.work/models/mobilenet_v3_small/model.onnx}
batch=${2:-8}
rounds=${3:-200}
if [ ! -f "$model" ]; then
  /usr/bin/python3 benchmarks/make_models.py "$(dirname "$model")" mobilenet_v3_small
fi
dotnet build benchmarks/EngineBench -c Release -v q -nologo >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
benchmarks/EngineBench/bin/Release/net10.0/EngineBench iobinding "$model" "$batch" "$rounds" 2>/dev/null
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
