#!/usr/bin/env bash
# Soak: register / predict / scale / unregister under prediction traffic for a few minutes against
# a real `serve start` (the digits sample app, which is the serve tool with the digits handler),
# printing resident memory, open descriptors and the bytes in the server's temporary folder at the
# start, every 30 s and at the end. Issue 23; figures in docs/limits.md.
#
#   tests/soak/soak.sh [seconds=180] [traffic connections=4]
#
# Needs the .NET SDK, curl and python3 (for free ports). Builds samples/Digits (Release) first.
set -euo pipefail
DURATION=${1:-180}
CONNECTIONS=${2:-4}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/serve-soak-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

dotnet build "$ROOT/samples/Digits" -c Release -nologo -v q >/dev/null
APP="$ROOT/samples/Digits/bin/Release/net10.0/Digits.dll"
mkdir -p "$WORK/store"
(cd "$ROOT/samples/Digits/model" && python3 -c "import shutil; shutil.make_archive('$WORK/store/digits', 'zip', '.')")
mv "$WORK/store/digits.zip" "$WORK/store/digits.mar"
IMAGE="$ROOT/samples/Digits/images/3.png"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
INF=$(port); MGT=$(port); MET=$(port)
cat > "$WORK/config.properties" <<CONFIG
inference_address=http://127.0.0.1:$INF
management_address=http://127.0.0.1:$MGT
metrics_address=http://127.0.0.1:$MET
model_store=$WORK/store
load_models=digits.mar
enable_model_api=true
disable_token_authorization=true
CONFIG

cd "$WORK"
SERVE_PID_FILE="$WORK/serve.pid" dotnet "$APP" start --foreground --ts-config config.properties >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$INF/ping" >/dev/null && break; sleep 0.2; done
TEMP="/tmp/serve-$PID"  # where `serve start` unpacks archives

figures() {
  local rss fds bytes
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  fds=$(ls "/proc/$PID/fd" | wc -l)
  bytes=$(du -sb "$TEMP" 2>/dev/null | cut -f1)
  printf '%-6s rss %6d MB  descriptors %5d  temp %10d bytes  load %s\n' "$1" $((rss / 1024)) "$fds" "${bytes:-0}" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "soak: ${DURATION}s, $CONNECTIONS prediction loops, server pid $PID, $(nproc) cores"
figures start
END=$((SECONDS + DURATION))
for c in $(seq 1 "$CONNECTIONS"); do
  ( ok=0; bad=0
    while [ $SECONDS -lt $END ]; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$IMAGE" "http://127.0.0.1:$INF/predictions/digits")
      if [ "$code" = 200 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    done
    echo "$ok $bad" >"$WORK/traffic.$c" ) &
done
( cycles=0; failures=0
  while [ $SECONDS -lt $END ]; do
    name="soak$((cycles % 7))"
    for call in "POST /models?url=digits.mar&model_name=$name&synchronous=true" \
                "PREDICT $name" \
                "PUT /models/$name?min_worker=4&max_worker=4&synchronous=true" \
                "PREDICT $name" \
                "PUT /models/$name?min_worker=1&max_worker=1&synchronous=true" \
                "DELETE /models/$name"; do
      set -- $call
      if [ "$1" = PREDICT ]; then
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$IMAGE" "http://127.0.0.1:$INF/predictions/$2")
      else
        code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" "http://127.0.0.1:$MGT$2")
      fi
      [ "$code" = 200 ] || failures=$((failures + 1))
    done
    cycles=$((cycles + 1))
  done
  echo "$cycles $failures" >"$WORK/cycles" ) &
while [ $SECONDS -lt $END ]; do sleep 30; [ $SECONDS -lt $END ] && figures "t+$((DURATION - END + SECONDS))s"; done
wait $(jobs -p | grep -v "^$PID$") 2>/dev/null || true
sleep 1
figures end
read -r cycles failures <"$WORK/cycles"
ok=0; bad=0
for f in "$WORK"/traffic.*; do read -r o b <"$f"; ok=$((ok + o)); bad=$((bad + b)); done
echo "predictions: $ok answered 200, $bad other; management cycles (register, predict, scale 1->4->1, unregister): $cycles, $failures calls not 200"
kill -TERM "$PID"
wait "$PID" || true
