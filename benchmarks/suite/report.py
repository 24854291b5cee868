"""The suite's results as markdown: the machine, then one table per section."""

TENSOR_SERVER = "serve start, tensors over the Open Inference Protocol"  # run.py's row name


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(us):
    return f"{us / 1000:.1f}"


def load(values):
    return " ".join(f"{v:.1f}" for v in values)


def find(rows, **match):
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def with_ceiling(row):
    """The row when it has a ratio to the in-process ceiling (a run with --only serving has none)."""
    return row if row and "ratio_to_ceiling" in row else None


def targets(results):
    """Issue 19's "done when" conditions, each with the figure this run measured (or why it has none)."""
    serving, out = results["serving"], []

    m = results["machine"]
    loaded = m["load_average_start"][0] > m["cores"]

    def check(text, ok, figure):
        verdict = ("met" if ok else "not met") + (" on this loaded run, not a verdict" if loaded else "")
        out.append(f"- {text}: {figure}, {verdict}" if figure else f"- {text}: not measured in this run")

    gpu = results["machine"]["mode"].startswith("gpu")
    if not gpu:
        for server in ["serve start (no model-config)", "attribute handler"]:
            r = with_ceiling(find(serving, server=server, backend="onnx", batch=1, connections=8))
            check(f"{server}, ONNX, 8 connections, at least 0.9 of the in-process ceiling", r and r["ratio_to_ceiling"] >= 0.9,
                  r and f"{r['ratio_to_ceiling']:.2f} (per CPU-second {r['per_cpu_ratio_to_ceiling']:.2f})")
        ours, peer = find(serving, server="serve start (no model-config)", backend="onnx", connections=1), find(serving, server="FastAPI + uvicorn peer", connections=1)
        check("1-connection p50 at most a quarter of the FastAPI peer's", ours and peer and ours["p50_us"] * 4 <= peer["p50_us"],
              ours and peer and f"{ours['p50_us'] / 1000:.1f} ms against {peer['p50_us'] / 1000:.1f} ms")
        r = with_ceiling(find(serving, server="serve start (no model-config)", backend="torchscript", connections=8))
        check("TorchScript backend at least 0.8 of its own in-process ceiling (8 connections)", r and r["ratio_to_ceiling"] >= 0.8,
              r and f"{r['ratio_to_ceiling']:.2f} (per CPU-second {r['per_cpu_ratio_to_ceiling']:.2f})")
        defaults = [r for r in serving if r["connections"] == 64 and r["batch"] == 1 and r["server"] in ("serve start (no model-config)", "attribute handler")]
        check("no 503 at 64 connections with default settings", defaults and all(r["status_503"] == 0 for r in defaults),
              defaults and ", ".join(f"{r['server']} {r['backend']}: {r['status_503']}" for r in defaults))
        aot = find(results["startup"], build="native AOT")
        check("native AOT digits: first prediction under 100 ms after exec", aot and aot["first_prediction_ms_median"] < 100,
              aot and f"{aot['first_prediction_ms_median']:.0f} ms median")
    else:
        if not any(c["device"].startswith("cuda") for c in results["ceilings"]):
            out.append("- NOT A GPU RUN: no ceiling ran on CUDA (see the device columns); the checks below are of the CPU fallback")
        pre, model = find(results["ceilings"], stage="preprocess"), find(results["ceilings"], stage="model")
        bound = min(pre["images_per_s"], model["images_per_s"]) if pre and model else None
        best = max((r for r in serving if r["server"].startswith("serve start") and r["backend"] == "onnx"), key=lambda r: r["rps"], default=None)
        check("ResNet-50 image_classifier at least 0.8 of min(all-core preprocessing, model) ceilings", best and bound and best["rps"] >= 0.8 * bound,
              best and bound and f"{best['rps']:.0f}/s (batch {best['batch']}, {best['connections']} connections) against a bound of {bound:.0f}/s")
        b1, b32 = find(serving, server="serve start (no model-config)", backend="onnx", connections=64), find(serving, server="serve start", backend="onnx", batch=32, connections=64)
        check("batchSize 32 at least as fast as batchSize 1 (64 connections)", b1 and b32 and b32["rps"] >= b1["rps"],
              b1 and b32 and f"{b32['rps']:.0f}/s against {b1['rps']:.0f}/s")
        r = with_ceiling(find(serving, server=TENSOR_SERVER, connections=64))
        check("tensor inputs through the Open Inference Protocol at least 0.7 of in-process ONNX Runtime at batch 32 (64 connections)",
              r and r["ratio_to_ceiling"] >= 0.7, r and f"{r['ratio_to_ceiling']:.2f} ({r['rps']:.0f}/s)")
        copies = [r for r in serving if r.get("model_copies")]
        check("one copy of the model per device (describe's modelCopies)", copies and all(set(r["model_copies"].values()) == {1} for r in copies),
              copies and ", ".join(f"batch {r['batch']}: {r['model_copies']}" for r in copies if r["connections"] == 1))
    if not gpu:
        # Not an issue target, a guard: batching that makes a backend slower went unnoticed once (docs/backends.md, glibc's mmap threshold).
        for backend in ("onnx", "torchscript"):
            b1 = find(serving, server="serve start (no model-config)", backend=backend, connections=64)
            batched = [r for r in serving if r["server"] == "serve start" and r["backend"] == backend and r["connections"] == 64]
            if b1 and batched:
                slowest = min(batched, key=lambda r: r["rps"])
                verdict = "holds" if slowest["rps"] >= 0.9 * b1["rps"] else "DOES NOT HOLD: batching makes it slower"
                out.append(f"- guard, {backend}: every batchSize at least 0.9 of batchSize 1 at 64 connections: slowest batch {slowest['batch']} "
                           f"{slowest['rps']:.0f}/s against {b1['rps']:.0f}/s, {verdict}")
        r = with_ceiling(find(serving, server=TENSOR_SERVER, connections=64))
        out.append(f"- for reference (the target is the GPU's): tensor inputs through the Open Inference Protocol against in-process ONNX Runtime at batch 32: "
                   + (f"{r['ratio_to_ceiling']:.2f} ({r['rps']:.0f}/s)" if r else "not measured in this run"))
        copies = [r for r in serving if r.get("model_copies") and r["connections"] == 1]
        out.append("- copies of each served model by device (describe's modelCopies): "
                   + (", ".join(f"{r['backend']} batch {r['batch']}: {r['model_copies']}" for r in copies) if copies else "not measured in this run"))
    return out


def markdown(results):
    m = results["machine"]
    out = [
        f"## Benchmark: {m['mode']}, {m['date_utc']} UTC",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, GPU: {m['gpu']}; {m['os']} (kernel {m['kernel']}). "
        f"{m['dotnet']}, ONNX Runtime {m['onnxruntime']}, TorchSharp {m['torchsharp']} (libtorch {m['libtorch']}), "
        f"Python torch {m['python_torch']}. Commit {m['git_commit']}. Model {m['model']} (random weights, seed 0), image {m['image']}, "
        f"{m['seconds_per_run']} s per measurement. Load average (1, 5, 15 min) at start {load(m['load_average_start'])}, "
        f"at end {load(m['load_average_end'])}: above {m['cores']} other processes were competing for the cores.",
    ]
    if results["ceilings"]:
        bracketed = any(c.get("when") for c in results["ceilings"])
        out += ["", "### In-process ceilings (the same work, no server)", ""]
        if bracketed:
            out += ["The ceilings the serving rows are held against ran before and after them; each ratio below is to the mean of the two.", ""]
        out += [table(["stage", "backend", "device", "threads", "intra-op", "batch", "measured", "images/s", "CPU %", "images per CPU-s"],
                      [[c["stage"], c["backend"], c["device"], c["threads"], c["intra_op"], c["batch"], c.get("when", "-"), f"{c['images_per_s']:.1f}", c["cpu_percent"],
                        f"{c['images_per_s'] / max(c['cpu_percent'], 1) * 100:.1f}"]
                       for c in results["ceilings"]])]
    if results.get("preprocessing"):
        out += ["", "### Image preprocessing per image, one thread (decode, Resize 256, CenterCrop 224, normalize)", "",
                table(["implementation", "ms per image (median / best)", "images/s per core"],
                      [[p["implementation"], f"{p['ms_median']:.2f} / {p['ms_best']:.2f}", f"{p['images_per_s_per_core']:.0f}"] for p in results["preprocessing"]])]
    if results["serving"]:
        out += ["", "### Serving over HTTP (wrk, one JPEG per request; req/s counts answers other than 503 and errors, latencies all answers)", "",
                table(["server", "backend", "device", "batch", "conns", "req/s", "p50 ms", "p99 ms", "503", "other errors", "ratio to ceiling", "server CPU %", "per CPU-s (ratio)", "RSS loaded / peak MB"],
                      [[r["server"], r["backend"], r.get("device", "-"), r["batch"], r["connections"], f"{r['rps']:.1f}", ms(r["p50_us"]), ms(r["p99_us"]), r["status_503"],
                        r["status_other"] + r["socket_errors"], f"{r['ratio_to_ceiling']:.2f}" if "ratio_to_ceiling" in r else "-",
                        f"{r['server_cpu_percent']:.0f}", f"{r['per_cpu_second']:.1f} ({r['per_cpu_ratio_to_ceiling']:.2f})" if "per_cpu_ratio_to_ceiling" in r else "-",
                        f"{r['rss_after_load_mb']:.0f} / {r['server_rss_peak_mb']:.0f}"] for r in results["serving"]])]
        refused = [r for r in results["serving"] if r["status_503"]]
        if refused:
            out += ["", "Why 503s were answered (the first 503's body in each row that had any):", ""] + [
                f"- {r['server']} {r['backend']} batch {r['batch']}, {r['connections']} connections: {r['status_503']}, "
                f"\"{r.get('first_503') or 'not recorded'}\"" for r in refused]
    if results["http"]:
        out += ["", "### HTTP overhead (64-byte body)", "",
                table(["endpoint", "conns", "req/s", "p50 us", "p99 us", "errors", "server CPU %"],
                      [[r["server"], r["connections"], f"{r['rps']:.0f}", r["p50_us"], r["p99_us"], r["status_503"] + r["status_other"] + r["socket_errors"],
                        f"{r['server_cpu_percent']:.0f}"] for r in results["http"]])]
    if results["dispatch"]:
        out += ["", "### Dispatch per call (BenchmarkDotNet, in process)", "",
                table(["dispatch", "batch", "ns per call", "+/- ns", "bytes per call"],
                      [[d["case"], d["batch"], f"{d['mean_ns']:.0f}", f"{d['error_ns']:.0f}", d["bytes"]] for d in results["dispatch"]])]
    if results["startup"]:
        out += ["", "### Digits sample: exec to first prediction, resident memory", "",
                table(["build", "first prediction ms (median / best)", "runs", "RSS after load MB", "RSS under load MB", "req/s under load (8 conns)"],
                      [[s["build"], f"{s['first_prediction_ms_median']:.0f} / {s['first_prediction_ms_min']:.0f}", s["runs"], f"{s['rss_after_load_mb']:.0f}",
                        f"{s['rss_under_load_mb']:.0f}", f"{s['rps_under_load']:.0f}"] for s in results["startup"]])]
    out += ["", "Issue 19's targets, from this run (on a loaded machine they say little; see the load averages):", ""] + targets(results)
    if results["skipped"]:
        out += ["", "Not measured in this run:", ""] + [f"- {s['section']} / {s['case']}: {s['reason']}" for s in results["skipped"]]
    return "\n".join(out) + "\n"
