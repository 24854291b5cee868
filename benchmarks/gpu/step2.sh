#!/usr/bin/env bash
# On the GPU machine, second carry, within 30 s of step1.sh: unpacks the native AOT serve tool,
# ImageBench, ONNX Runtime, Skia and wrk beside the CUDA provider step 1 left in /tmp/serve-gpu,
# runs the suite's GPU mode, and tars the results and server logs into $OUT (or /tmp/serve-gpu/out).
#   bash benchmarks/gpu/step2.sh [run.sh options, e.g. --quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=/tmp/serve-gpu
pack=benchmarks/.work/gpu/step2
[ -f "$dest/lib/libonnxruntime_providers_cuda.so" ] || { echo "no CUDA provider in $dest/lib: run step1.sh first (within 30 s)"; exit 1; }
unxz() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
mkdir -p "$dest/serve" "$dest/imagebench"
for lib in "$pack"/lib/*.so.xz; do unxz "$lib" "$dest/lib/$(basename "$lib" .xz)"; done
cp "$pack/lib/libluajit-5.1.so.2" "$dest/lib/"
unxz "$pack/serve.xz" "$dest/serve/serve"
unxz "$pack/ImageBench.xz" "$dest/imagebench/ImageBench"
cp "$pack/wrk" "$dest/wrk"
chmod +x "$dest/serve/serve" "$dest/imagebench/ImageBench" "$dest/wrk"
# ONNX Runtime loads its providers from its own directory; a native AOT binary finds the libraries beside it.
for dir in serve imagebench; do
  for lib in "$dest"/lib/*.so; do ln -sf "$lib" "$dest/$dir/"; done
done
export LD_LIBRARY_PATH="$dest/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
model=${BENCH_MODEL:-resnet50}
results=${OUT:-$dest/out}
mkdir -p "$results"
status=0
python3 benchmarks/suite/run.py --gpu --prebuilt "$dest" --wrk "$dest/wrk" --model "$model" --models-dir "$dest/models/$model" \
  --out "$results" --logs "$dest/logs" "$@" 2>&1 | tee "$dest/run.log" || status=$?
nvidia-smi > "$dest/nvidia-smi.txt" 2>&1 || true
tar -czf "$results/gpu-run.tar.gz" -C "$dest" run.log logs nvidia-smi.txt
exit "$status"
