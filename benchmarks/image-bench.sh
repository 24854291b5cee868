#!/usr/bin/env bash
# Image benchmark (issue 11): 8 concurrent clients on an image model whose preprocess takes one
# request, against the same decode + resize + inference done in-process on two threads, in the
# same run on the same machine. Also the same handler with its preprocess over the batch (on
# the worker), and the server's CPU use (200% = both cores of a 2-core machine busy). On a
# machine other processes share, CPU% and requests/s shrink with the cores left over; requests
# per CPU-second compares the work each way needs.
#   bash benchmarks/image-bench.sh [SECONDS]      (default 15 s per measurement)
# Needs wrk (apt-get install wrk) and, the first time, Debian's python3-torchvision and
# python3-onnx to export the model. Listens on 127.0.0.1 only; stops only the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
image=${IMAGE:-/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg} # 640x427 JPEG, python3-sklearn
model=benchmarks/ImageBench/model/mobilenet.onnx
[ -f "$model" ] || /usr/bin/python3 benchmarks/make_mobilenet.py "$model"
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk"; exit 1; }

dotnet build benchmarks/ImageBench -c Release -v q -nologo >/dev/null
bin=benchmarks/ImageBench/bin/Release/net10.0/ImageBench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); image: $image; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$bin" inprocess "$image" "$seconds" 2

port=$((20000 + RANDOM % 20000))
"$bin" serve --urls "http://127.0.0.1:$port" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.5; done

lua=$(mktemp --suffix=.lua)
cat > "$lua" <<LUA
local f = assert(io.open("$image", "rb")); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "image/jpeg"
LUA
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for name in mobilenet mobilenet-batch; do
  curl -sf --data-binary "@$image" "http://127.0.0.1:$port/predictions/$name" >/dev/null # warm up
  before=$(cpu); start=$(date +%s.%N)
  rps=$(wrk -t2 -c8 -d"${seconds}s" -s "$lua" "http://127.0.0.1:$port/predictions/$name" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}')
  after=$(cpu); end=$(date +%s.%N)
  cpu_seconds=$(echo "($after - $before) / $ticks" | bc -l)
  busy=$(echo "$cpu_seconds / ($end - $start) * 100" | bc -l)
  per_cpu=$(echo "$rps * ($end - $start) / $cpu_seconds" | bc -l)
  printf 'server, %s, 8 connections: %s requests/s, server CPU %.0f%%, %.1f requests per CPU-second\n' "$name" "$rps" "$busy" "$per_cpu"
done
rm -f "$lua"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine compete for the same cores)"
