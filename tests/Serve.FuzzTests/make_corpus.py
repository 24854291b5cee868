#!/usr/bin/python3
"""Writes the fuzz suite's seed corpus (run with Debian's python3 and python3-pil).

Each seed is a small valid (or nearly valid) input; the properties in FuzzTests.cs mutate them.
bodies/*: first line is the request's Content-Type, the rest is its body.
"""
import io
import json
import os
import pickle
import zipfile
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
digits = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "Digits", "images")


def write(path, data):
    with open(os.path.join(here, path), "wb") as f:
        f.write(data)


def body(name, content_type, payload):
    write(os.path.join("bodies", name), content_type.encode() + b"\n" + payload)


body("form-data-file.txt", "multipart/form-data; boundary=XyZ",
     b'--XyZ\r\nContent-Disposition: form-data; name="data"; filename="d.png"\r\nContent-Type: image/png\r\n\r\nPNGBYTES\r\n--XyZ--\r\n')
body("form-two-fields.txt", "multipart/form-data; boundary=\"a b\"",
     b'preamble\r\n--a b\r\nContent-Disposition: form-data; name="other"\r\n\r\nno\r\n--a b\r\nContent-Disposition: form-data; name="body"\r\n\r\nyes\r\n--a b--\r\nepilogue')
body("form-no-headers.txt", "multipart/form-data; boundary=q", b"--q\r\n\r\nbare\r\n--q--")
body("raw-binary.txt", "application/octet-stream", bytes(range(256)))
body("urlencoded.txt", "application/x-www-form-urlencoded", b"data=1&body=2")
body("mixed.txt", "multipart/mixed; boundary=m", b"--m\r\nContent-Type: text/plain\r\n\r\nx\r\n--m--\r\n")

with open(os.path.join(digits, "3.png"), "rb") as f:
    write("images/3.png", f.read())
three = Image.open(os.path.join(digits, "3.png")).convert("L")
for fmt, ext in [("JPEG", "jpg"), ("GIF", "gif"), ("BMP", "bmp"), ("WEBP", "webp")]:
    out = io.BytesIO()
    three.save(out, fmt)
    write(f"images/3.{ext}", out.getvalue())
rgba = Image.merge("RGBA", [three, three, three, three])
out = io.BytesIO()
rgba.save(out, "PNG")
write("images/3-rgba.png", out.getvalue())
out = io.BytesIO()
three.resize((64, 48)).save(out, "PNG")
write("images/3-64x48.png", out.getvalue())

write("model-config/full.yaml", b"minWorkers: 1\nmaxWorkers: 2\nbatchSize: 4\nmaxBatchDelay: 100\nresponseTimeout: 120\njobQueueSize: 100\nstartupTimeout: 120\ndeviceType: cpu\n")
write("model-config/handler-section.yaml", b"batchSize: 2\nhandler:\n  threshold: 0.5\n  labels: [a, b]\n")
write("model-config/anchors.yaml", b"base: &b {x: 1}\nhandler:\n  <<: *b\n  y: [1, 2, {z: 3}]\n")
write("model-config/empty.yaml", b"")

manifest = {"createdOn": "27/11/2026 12:00:00", "runtime": "python", "model": {
    "modelName": "digits", "serializedFile": "digits.onnx", "handler": "digits", "modelVersion": "1.0",
    "configFile": "model-config.yaml"}, "archiverVersion": "0.12.0"}
write("manifests/digits.json", json.dumps(manifest, indent=2).encode())
write("manifests/bom.json", b"\xef\xbb\xbf" + json.dumps(manifest).encode())
write("manifests/minimal.json", b'{"model": {"modelName": "m"}}')
# Regressions the fuzz runs found: a name that is not UTF-8; a broken flow sequence.
write("manifests/not-utf8.json", b'{"model": {"modelName": "d\x9digits"}}')
write("model-config/broken-flow.yaml", b"batchSize: [1, 2, : *\n")

# Pickles: the data.pkl of the backend fixtures (a real state_dict; ones whose __reduce__ calls os.system)
# and a plain protocol-2 pickle of nested containers.
backends = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "backends")
for name in ["tiny.state_dict.pt", "malicious.state_dict.pt", "malicious_protocol4.pt"]:
    archive = zipfile.ZipFile(os.path.join(backends, name))
    data = next(n for n in archive.namelist() if n.endswith("data.pkl"))
    write(os.path.join("pickles", name.replace(".pt", ".pkl")), archive.read(data))
write("pickles/containers.pkl", pickle.dumps({"a": [1, 2.5, (3, "x")], "b": {"c": None, "d": True}, "e": b"bytes"}, protocol=2))
