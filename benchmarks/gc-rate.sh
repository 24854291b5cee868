#!/usr/bin/env bash
# What the garbage collector does while a server answers the suite's workload (one JPEG per request,
# 8 connections, MobileNetV3-small on ONNX Runtime): allocation rate, collections per generation and
# time in GC pauses, from dotnet-counters over 12 s (four 3 s intervals) after 10 s unmeasured.
#   benchmarks/gc-rate.sh [serve|attribute|attribute-workstation] ...
#     serve      `serve start` with an image_classifier archive and no model-config
#     attribute  ImageBench's handler written with the attributes (a Microsoft.NET.Sdk.Web app: server GC)
#     attribute-workstation  the same with DOTNET_gcServer=0 (workstation GC, as `serve` runs)
# SERVE=path/to/serve and IMAGEBENCH=path/to/ImageBench measure other builds (another commit's, for
# a before and after). Needs wrk, the suite's models (benchmarks/run.sh --quick makes them) and the
# Release builds (dotnet build src/Serve.Cli -c Release; dotnet build benchmarks/ImageBench -c Release);
# it installs dotnet-counters under benchmarks/.work/tools the first time. Run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
serve=$(realpath "${SERVE:-src/Serve.Cli/bin/Release/net10.0/serve}")
imagebench=$(realpath "${IMAGEBENCH:-benchmarks/ImageBench/bin/Release/net10.0/ImageBench}")
model=$PWD/benchmarks/.work/models/mobilenet_v3_small/model.onnx
image=$PWD/tests/fixtures/vision/images/china.jpg
counters=benchmarks/.work/tools/dotnet-counters
[ -f "$model" ] || { echo "no $model: run benchmarks/run.sh --quick once to make the models" >&2; exit 1; }
[ -x "$counters" ] || dotnet tool install dotnet-counters --tool-path benchmarks/.work/tools > /dev/null
store=$(mktemp -d) pid=
trap '[ -z "$pid" ] || kill $pid 2> /dev/null; rm -rf "$store"' EXIT
ports=($(python3 -c 'import socket
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'))
"$serve" archive --model-name m --version 1.0 --serialized-file "$model" --handler image_classifier --export-path "$store" > /dev/null
printf 'inference_address=http://127.0.0.1:%s\nmanagement_address=http://127.0.0.1:%s\nmetrics_address=http://127.0.0.1:%s\ngrpc_inference_port=0\ngrpc_management_port=0\nmodel_store=%s\ndisable_token_authorization=true\n' \
  "${ports[@]}" "$store" > "$store/config.properties"
export BENCH_BODY=$image BENCH_TYPE=image/jpeg
for side in "${@:-serve attribute}"; do
  for one in $side; do
    case $one in
      serve) url=http://127.0.0.1:${ports[0]}/predictions/m
        command=("$serve" start --foreground --ts-config config.properties --models m.mar) ;;
      attribute|attribute-workstation) url=http://127.0.0.1:${ports[0]}/predictions/classifier-b1
        command=("$imagebench" serve --urls "http://127.0.0.1:${ports[0]}" --model "$model" --batch-sizes 1) ;;
      *) echo "unknown side $one: serve, attribute or attribute-workstation" >&2; exit 2 ;;
    esac
    settings=(DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1)
    [ "$one" != attribute-workstation ] || settings+=(DOTNET_gcServer=0)
    (cd "$store" && exec env "${settings[@]}" "${command[@]}" > "$store/$one.log" 2>&1) &
    pid=$!
    for _ in $(seq 120); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$image" -H 'Content-Type: image/jpeg' "$url")" = 200 ] && break
      kill -0 $pid 2> /dev/null || { echo "$one did not start:" >&2; tail -5 "$store/$one.log" >&2; exit 1; }
      sleep 0.5
    done
    wrk -t2 -c8 -d10s -s benchmarks/suite/wrk.lua "$url" > /dev/null
    wrk -t2 -c8 -d14s -s benchmarks/suite/wrk.lua "$url" > "$store/wrk.out" &
    load=$!
    sleep 1
    "$counters" collect -p $pid --format csv -o "$store/$one" --refresh-interval 3 --duration 00:00:00:13 \
      --counters 'System.Runtime[dotnet.gc.heap.total_allocated,dotnet.gc.collections,dotnet.gc.pause.time]' > /dev/null
    wait $load
    python3 - "$store/$one.csv" "$one" "$store/wrk.out" <<'PY'
import csv, json, sys
path, side, wrk = sys.argv[1:]
values, stamps = {}, set()
for row in csv.reader(open(path)):
    if len(row) == 5 and row[3] == "Rate":  # increments over each 3 s interval
        values[row[2]] = values.get(row[2], 0.0) + float(row[4])
        stamps.add(row[0])
seconds = 3.0 * len(stamps)
def get(prefix, generation=""):
    return next((v for k, v in values.items() if k.startswith(prefix) and generation in k), float("nan"))
answers = json.loads(next(l for l in open(wrk) if l.startswith("WRKJSON "))[8:])
print(f"{side:<21} {answers['requests'] / answers['seconds']:6.1f} req/s  allocated {get('dotnet.gc.heap.total_allocated') / seconds / 1e6:6.1f} MB/s"
      f"  collections/s gen0 {get('dotnet.gc.collections', 'gen0') / seconds:4.1f} gen1 {get('dotnet.gc.collections', 'gen1') / seconds:4.1f}"
      f" gen2 {get('dotnet.gc.collections', 'gen2') / seconds:4.1f}  in GC pauses {get('dotnet.gc.pause.time') / seconds * 100:4.1f}%")
PY
    kill $pid; wait $pid 2> /dev/null || true; pid=
  done
done
