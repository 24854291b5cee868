#!/usr/bin/env bash
# Worker scale-down memory (issue 23 item 4): CYCLES cycles of 1 -> WORKERS -> 1 workers of the
# vision classifier fixture (ONNX), with requests at each step, printing resident memory and
# threads at WORKERS and back at 1 worker after each cycle. In-process (no HTTP), so the figures
# are the engine's: model copies, buffers, threads.
#   bash benchmarks/scale-memory.sh [CYCLES] [WORKERS] [MODEL.onnx|MODEL.pt] [WARMUP]
# (default 8 cycles, 64 workers, the test fixture, 12 warm-up cycles first while the runtime's tiered
# JIT settles; benchmarks/run.sh makes a MobileNetV3-small at benchmarks/.work/models/mobilenet_v3_small/model.onnx)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-8}
workers=${2:-64}
file=${3:-tests/fixtures/vision/classifier/classifier.onnx}
warmup=${4:-12}
dotnet build benchmarks/EngineBench -c Release -v q -nologo >/dev/null
model=$(mktemp -d)
trap 'rm -rf "$model"' EXIT
cp "$file" "$model/"
printf 'minWorkers: 1\nmaxWorkers: 1\nbatchSize: 1\nmaxBatchDelay: 0\n' > "$model/model-config.yaml"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
benchmarks/EngineBench/bin/Release/net10.0/EngineBench scale "$model" "$cycles" "$workers" "$warmup"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
