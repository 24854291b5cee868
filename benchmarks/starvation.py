#!/usr/bin/python3
"""How much large valid images slow everyone else (issue 15, defect 7).

Against a running digits sample: `heavy` connections post a large PNG while `good` connections
post samples/Digits/images/3.png, for `seconds`; prints the good traffic's rate and latency.
Needs python3-pil to draw the large image.

    dotnet run --project samples/Digits &
    /usr/bin/python3 benchmarks/starvation.py --heavy 16 --side 2048
"""
import argparse
import http.client
import io
import os
import statistics
import threading
import time

from PIL import Image, ImageDraw

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8080)
parser.add_argument("--heavy", type=int, default=16)
parser.add_argument("--good", type=int, default=4)
parser.add_argument("--side", type=int, default=2048)
parser.add_argument("--seconds", type=float, default=10)
args = parser.parse_args()

big = Image.new("L", (args.side, args.side), 255)
ImageDraw.Draw(big).ellipse((args.side // 4, args.side // 8, 3 * args.side // 4, 7 * args.side // 8), outline=0, width=max(1, args.side // 16))
buffer = io.BytesIO()
big.save(buffer, "PNG")
heavy_body = buffer.getvalue()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "Digits", "images", "3.png"), "rb") as f:
    good_body = f.read()

stop = time.time() + args.seconds
latencies, heavy_statuses, lock = [], {}, threading.Lock()


def client(body, record):
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    while time.time() < stop:
        start = time.perf_counter()
        try:
            connection.request("POST", "/predictions/digits", body)
            response = connection.getresponse()
            response.read()
            record(response.status, time.perf_counter() - start)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            record(-1, time.perf_counter() - start)


def good(status, seconds):
    with lock:
        latencies.append((status, seconds))


def heavy(status, seconds):
    with lock:
        heavy_statuses[status] = heavy_statuses.get(status, 0) + 1


threads = [threading.Thread(target=client, args=(heavy_body, heavy)) for _ in range(args.heavy)]
threads += [threading.Thread(target=client, args=(good_body, good)) for _ in range(args.good)]
for t in threads:
    t.start()
for t in threads:
    t.join()

ok = sorted(s for status, s in latencies if status == 200)
print(f"heavy: {args.heavy} connections, {args.side}x{args.side} PNG ({len(heavy_body)} bytes), statuses {heavy_statuses}")
if ok:
    print(f"good: {args.good} connections, {len(ok) / args.seconds:.1f} answers/s, "
          f"p50 {statistics.median(ok) * 1000:.1f} ms, p99 {ok[int(len(ok) * 0.99) - 1] * 1000:.1f} ms, "
          f"other statuses {len(latencies) - len(ok)}")
else:
    print(f"good: no answers ({len(latencies)} failed)")
