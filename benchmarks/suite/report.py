"""The suite's results as markdown: the machine, then one table per section."""


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(us):
    return f"{us / 1000:.1f}"


def load(values):
    return " ".join(f"{v:.1f}" for v in values)


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
        out += ["", "### In-process ceilings (the same work, no server)", "",
                table(["stage", "backend", "device", "threads", "intra-op", "batch", "images/s", "CPU %", "images per CPU-s"],
                      [[c["stage"], c["backend"], c["device"], c["threads"], c["intra_op"], c["batch"], f"{c['images_per_s']:.1f}", c["cpu_percent"],
                        f"{c['images_per_s'] / max(c['cpu_percent'], 1) * 100:.1f}"]
                       for c in results["ceilings"]])]
    if results["serving"]:
        out += ["", "### Serving over HTTP (wrk, one JPEG per request)", "",
                table(["server", "backend", "batch", "conns", "req/s", "p50 ms", "p99 ms", "503", "other errors", "ratio to ceiling", "server CPU %", "per CPU-s (ratio)", "RSS loaded / peak MB"],
                      [[r["server"], r["backend"], r["batch"], r["connections"], f"{r['rps']:.1f}", ms(r["p50_us"]), ms(r["p99_us"]), r["status_503"],
                        r["status_other"] + r["socket_errors"], f"{r['ratio_to_ceiling']:.2f}" if "ratio_to_ceiling" in r else "-",
                        f"{r['server_cpu_percent']:.0f}", f"{r['per_cpu_second']:.1f} ({r['per_cpu_ratio_to_ceiling']:.2f})" if "per_cpu_ratio_to_ceiling" in r else "-",
                        f"{r['rss_after_load_mb']:.0f} / {r['server_rss_peak_mb']:.0f}"] for r in results["serving"]])]
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
    if results["skipped"]:
        out += ["", "Not measured in this run:", ""] + [f"- {s['section']} / {s['case']}: {s['reason']}" for s in results["skipped"]]
    return "\n".join(out) + "\n"
