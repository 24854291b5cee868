#!/usr/bin/env bash
# The benchmark suite: one command, a table printed and written to benchmarks/results/ as markdown
# and JSON (docs/benchmarks.md explains each case).
#   benchmarks/run.sh --quick        a few minutes on 2 cores (3 s per measurement)
#   benchmarks/run.sh                the full run (15 s per measurement)
#   benchmarks/run.sh --gpu ...      ResNet-50 on CUDA (benchmarks/gpu/pack.sh takes it to a GPU machine)
# Needs the .NET SDK, wrk, and Debian's python3-torch, python3-torchvision, python3-onnx,
# python3-sklearn (the image), python3-fastapi and python3-uvicorn (the peer); it installs wrk
# with apt-get when run as root and says what else is missing. Listens on 127.0.0.1 only and
# stops only the servers it started.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
[ -x "$python" ] || python=python3
exec "$python" benchmarks/suite/run.py "$@"
