#!/usr/bin/env bash
# A/B of two `serve` builds on the suite's workload: an image_classifier archive with no
# model-config, one JPEG per request. The builds take turns (A, B, A, B, ...) so that drift in
# the machine falls on both; each server runs 10 s unmeasured at 64 connections, then 1, 8 and
# 64 connections for SECONDS each. Run it on an idle machine; it prints one row per measurement.
#   benchmarks/ab.sh A/serve B/serve [rounds=3] [seconds=10] [onnx|torchscript] [batch=1]
# A batch size over 1 gives the archive a model-config with that batchSize and maxBatchDelay 5.
# Build the B side from another checkout, e.g.
#   git worktree add /tmp/b HEAD~1 && dotnet build /tmp/b/src/Serve.Cli -c Release -o /tmp/b-serve
# Needs wrk and the suite's models (benchmarks/run.sh --quick makes them under benchmarks/.work).
set -euo pipefail
cd "$(dirname "$0")/.."
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-3} seconds=${4:-10} backend=${5:-onnx} batch=${6:-1}
model=benchmarks/.work/models/mobilenet_v3_small/$([ "$backend" = onnx ] && echo model.onnx || echo model.pt)
image=tests/fixtures/vision/images/china.jpg
[ -f "$model" ] || { echo "no $model: run benchmarks/run.sh --quick once to make the models" >&2; exit 1; }
store=$(mktemp -d) pid=
trap '[ -z "$pid" ] || kill $pid 2> /dev/null; rm -rf "$store"' EXIT
config=()
if [ "$batch" -gt 1 ]; then
  printf 'batchSize: %s\nmaxBatchDelay: 5\n' "$batch" > "$store/model-config.yaml"
  config=(--config-file "$store/model-config.yaml")
fi
"$a" archive --model-name m --version 1.0 --serialized-file "$model" --handler image_classifier --export-path "$store" "${config[@]}" > /dev/null
ports=($(python3 -c 'import socket
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'))
printf 'inference_address=http://127.0.0.1:%s\nmanagement_address=http://127.0.0.1:%s\nmetrics_address=http://127.0.0.1:%s\ngrpc_inference_port=0\ngrpc_management_port=0\nmodel_store=%s\ndisable_token_authorization=true\n' \
  "${ports[@]}" "$store" > "$store/config.properties"
url=http://127.0.0.1:${ports[0]}/predictions/m
export BENCH_BODY=$PWD/$image BENCH_TYPE=image/jpeg
measure() { # side, server binary
  (cd "$store" && DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 exec "$2" start --foreground --ts-config config.properties --models m.mar > "$store/$1.log" 2>&1) &
  pid=$!
  for _ in $(seq 120); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @$image -H 'Content-Type: image/jpeg' $url)" = 200 ] && break
    kill -0 $pid 2> /dev/null || { echo "$1 did not start:" >&2; tail -5 "$store/$1.log" >&2; exit 1; }
    sleep 0.5
  done
  wrk -t2 -c64 -d10s -s benchmarks/suite/wrk.lua $url > /dev/null
  for c in 1 8 64; do
    local before=$(awk '{print $14 + $15}' /proc/$pid/stat)
    local result=$(wrk -t$((c < 2 ? 1 : 2)) -c$c -d${seconds}s -s benchmarks/suite/wrk.lua $url | grep WRKJSON)
    local after=$(awk '{print $14 + $15}' /proc/$pid/stat)
    python3 -c 'import json, os, sys
r = json.loads(sys.argv[1][len("WRKJSON "):])
side, before, after, c = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rps = (r["requests"] - r["status_503"]) / r["seconds"]
cpu = (after - before) / os.sysconf("SC_CLK_TCK") / r["seconds"] * 100
p50, p99, refused = r["p50_us"] / 1000, r["p99_us"] / 1000, r["status_503"]
print(f"{side} c{c:<3} {rps:7.1f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  503 {refused}  server CPU {cpu:.0f}%")' \
      "$result" "$1" "$before" "$after" "$c"
  done
  kill $pid; wait $pid 2> /dev/null || true; pid=
}
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $backend, batch $batch, ${seconds} s per row; A=$a B=$b"
for _ in $(seq "$rounds"); do measure A "$a"; measure B "$b"; done
