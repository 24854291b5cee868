#!/usr/bin/env bash
# Packs every shipped project, the `serve` tool and the templates into one folder (default
# artifacts/packages): what `dotnet add package`, `dotnet tool install` and `dotnet new install`
# take. The tool is packed without TorchSharp (-p:ServeToolPack=true), so it serves ONNX archives:
# libtorch would make it hundreds of megabytes.
# Usage: build/pack.sh [OUTPUT_DIR] [MSBUILD_ARGS...], e.g. build/pack.sh /tmp/packages -p:Version=0.1.0-dev
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-artifacts/packages}")
shift || true
mkdir -p "$out"

# Every library under src/ (Serve.Generators is not packable: it ships inside Serve.Runtime).
for project in src/*/*.csproj; do
  case "$project" in
    src/Serve.Cli/*|src/Serve.Templates/*) ;;
    *) dotnet pack "$project" -c Release -o "$out" --nologo -v quiet "$@" ;;
  esac
done
dotnet pack src/Serve.Cli -c Release -o "$out" --nologo -v quiet "$@" -p:ServeToolPack=true
dotnet pack src/Serve.Templates -c Release -o "$out" --nologo -v quiet "$@"
ls -1 "$out"
