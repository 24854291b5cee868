#!/usr/bin/env bash
# Runs the Dockerfile's build step without docker: the same `dotnet publish` line, with the
# Dockerfile's default PROJECT, into a temporary /app, then checks the ENTRYPOINT's $APP.dll is there.
# Usage: deploy/kserve/publish-locally.sh   (from the repository root)
set -euo pipefail
dockerfile=deploy/kserve/Dockerfile
project=$(sed -n 's/^ARG PROJECT=//p' "$dockerfile")
app=$(sed -n 's/^ENV APP=//p' "$dockerfile")
publish=$(sed -n 's/^RUN \(dotnet publish .*\)$/\1/p' "$dockerfile")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command=${publish//\"\$PROJECT\"/$project}
command=${command//\/app/$out}
echo "+ $command"
$command
test -f "$out/$app.dll" || { echo "publish-locally: $out/$app.dll is missing; the ENTRYPOINT would fail" >&2; exit 1; }
echo "publish-locally: $app.dll published ($(du -sh "$out" | cut -f1)); the ENTRYPOINT's dotnet /app/$app.dll would start."
