#!/usr/bin/env bash
# TorchScript and inputs of assorted shapes (issue 19 item 3): the scripted SSDlite detector
# fixture (tests/fixtures/vision/detector/detector.pt) fed REQUESTS images of random sizes from
# 200x200 to 640x640, with libtorch's profiling executor off (Serve's default) and on
# (torch.profilingExecutor: true, libtorch's default), each in a fresh process.
#   bash benchmarks/torchscript-shapes.sh [REQUESTS] [MODEL.pt]     (default 20 requests)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20}
model=${2:-tests/fixtures/vision/detector/detector.pt}
dotnet build benchmarks/EngineBench -c Release -v q -nologo >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); model: $model; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for profiling in false true; do
  benchmarks/EngineBench/bin/Release/net10.0/EngineBench shapes "$model" "$requests" "$profiling" 2>/dev/null
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
