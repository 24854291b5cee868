#!/usr/bin/env bash
# Packs the GPU mode for a CUDA machine that has python3 and the CUDA 13 libraries but no dotnet
# (the lent H200 machines: ../shared/GPU.md), in two carries of at most 64 MiB each, the checkout
# included. Run here (needs the .NET SDK, a C toolchain for native AOT, xz and wrk):
#   benchmarks/gpu/pack.sh            writes benchmarks/.work/gpu/step1 and step2 (git-ignored)
# then on the GPU machine, the second within 30 s of the first (/tmp survives only that long):
#   bash benchmarks/gpu/step1.sh      carrying benchmarks/.work/gpu/step1: unpacks ONNX Runtime's
#                                     CUDA provider into /tmp/serve-gpu, makes the seeded ResNet-50
#   bash benchmarks/gpu/step2.sh      carrying benchmarks/.work/gpu/step2: unpacks the rest, runs
#                                     benchmarks/run.sh --gpu, tars results and logs into $OUT
# The CUDA provider (libonnxruntime_providers_cuda.so, 284 MB) keeps only sm_${ARCH:-90}'s kernels
# (fatbin.py zeroes the others) and is xz-compressed: about 52 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${ARCH:-90}
out=benchmarks/.work/gpu
build=$out/build
limit=$((64 * 1024 * 1024))
for tool in dotnet xz wrk; do command -v "$tool" >/dev/null || { echo "pack.sh needs $tool"; exit 1; }; done

publish() { # project, output: native AOT against ONNX Runtime's CUDA package (Microsoft.ML.OnnxRuntime.Gpu.Linux)
  dotnet publish "$1" -c Release -p:ServeAot=true -p:OnnxRuntimeGpu=true -o "$2" -v q -nologo
}
publish src/Serve.Cli "$build/serve"
publish benchmarks/ImageBench "$build/imagebench"

rm -rf "$out/step1" "$out/step2"
mkdir -p "$out/step1" "$out/step2/lib"
provider=$build/serve/libonnxruntime_providers_cuda.so
[ -f "$provider" ] || { echo "no $provider: did the publish take Microsoft.ML.OnnxRuntime.Gpu.Linux?"; exit 1; }
python3 benchmarks/gpu/fatbin.py "$provider" "$out/provider.tmp" "$arch" | tail -1
xz -9 -T2 -c "$out/provider.tmp" > "$out/step1/libonnxruntime_providers_cuda.so.xz"
rm -f "$out/provider.tmp"

# The native libraries both binaries load, once; the binaries themselves; wrk with its LuaJIT.
for lib in "$build"/serve/*.so; do
  case "$(basename "$lib")" in libonnxruntime_providers_cuda.so | libonnxruntime_providers_tensorrt.so) continue ;; esac # step 1; unused
  cmp -s "$lib" "$build/imagebench/$(basename "$lib")" || { echo "$(basename "$lib") differs between the two publishes"; exit 1; }
  xz -9 -T2 -c "$lib" > "$out/step2/lib/$(basename "$lib").xz"
done
xz -9 -T2 -c "$build/serve/serve" > "$out/step2/serve.xz"
xz -9 -T2 -c "$build/imagebench/ImageBench" > "$out/step2/ImageBench.xz"
cp "$(command -v wrk)" "$out/step2/wrk"
cp /lib/x86_64-linux-gnu/libluajit-5.1.so.2 "$out/step2/lib/"

checkout=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
for step in step1 step2; do
  size=$(( $(du -sb "$out/$step" | cut -f1) + checkout ))
  echo "$step: $((size / 1024 / 1024)) MiB with the checkout (limit 64 MiB)"
  [ "$size" -le "$limit" ] || { echo "$step is over 64 MiB"; exit 1; }
done
ls -la "$out/step1" "$out/step2" "$out/step2/lib"
