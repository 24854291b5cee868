"""The benchmark suite (docs/benchmarks.md): one command, one table, written as markdown and JSON.

    benchmarks/run.sh [--quick] [--gpu] [--seconds S] [--only SECTION,...] [--out DIR] [--prebuilt DIR] [--no-aot]

Sections: ceilings, serving (serve start with image_classifier archives, the attribute-written
handler, the FastAPI peer), http (bare Kestrel against the echo handler), dispatch
(BenchmarkDotNet), startup (digits sample, JIT and native AOT). --gpu runs the same cases with
ResNet-50 on CUDA (ONNX Runtime's CUDA provider; without one it falls back to the CPU and every
row says so). --prebuilt DIR takes the binaries benchmarks/gpu/pack.sh made instead of building
(the GPU machine has no dotnet)."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import tools  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(REPO, "benchmarks", ".work")
DEBIAN_PYTHON = "/usr/bin/python3"
SECTIONS = ["ceilings", "serving", "http", "dispatch", "startup"]
CONNECTIONS = [1, 8, 64]
BATCH_SIZES = [1, 8, 32]
TENSOR_SERVER = report.TENSOR_SERVER



def log(message):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {message}", flush=True)


def sh(argv, **kwargs):
    log(" ".join(argv))
    subprocess.run(argv, check=True, cwd=REPO, **kwargs)


def output(argv, **kwargs):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True, **kwargs).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


class Suite:
    def __init__(self, args):
        self.args = args
        self.mode = "gpu" if args.gpu else "cpu"
        self.cores = os.cpu_count()
        self.seconds = args.seconds or (3 if args.quick else 15)
        self.warmup = 1 if args.quick else 5
        # Once per server and model before its first measurement (and before each ceiling): under
        # full load on 2 cores the JIT's tier-1 compiles take about 10 s to settle, and until then
        # they take a tenth of the CPU (perf, 2026-12-04); every side is measured in steady state.
        self.settle = 10 if args.quick else 20
        self.settled = set()
        self.arch = args.model or ("resnet50" if args.gpu else "mobilenet_v3_small")
        self.device = "cuda" if args.gpu else "cpu"
        self.logs = args.logs or tempfile.mkdtemp(prefix="serve-bench-")
        os.makedirs(self.logs, exist_ok=True)
        self.results = {"ceilings": [], "preprocessing": [], "serving": [], "http": [], "dispatch": [], "startup": [], "skipped": []}
        self.image = args.image
        self.bins = {}

    # ----- what the suite needs -----

    def prepare(self):
        wrk = self.args.wrk or shutil.which("wrk") or (os.path.join(self.args.prebuilt, "wrk") if self.args.prebuilt else None)
        if not wrk or not os.path.exists(wrk):
            if os.geteuid() == 0 and shutil.which("apt-get"):
                sh(["apt-get", "install", "-y", "-qq", "wrk"])
                wrk = shutil.which("wrk")
            if not wrk:
                raise SystemExit("needs wrk: apt-get install wrk (Debian/Ubuntu), or --wrk PATH")
        self.bins["wrk"] = wrk
        if not os.path.exists(self.image):
            raise SystemExit(f"no image at {self.image}: pass --image FILE")
        self.models = self.args.models_dir or os.path.join(WORK, "models", self.arch)
        if not os.path.exists(os.path.join(self.models, "model.onnx")):
            python = DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable
            try:
                sh([python, os.path.join(REPO, "benchmarks", "make_models.py"), self.models, self.arch])
            except subprocess.CalledProcessError:
                raise SystemExit("making the models needs torch, torchvision and onnx: apt-get install python3-torch python3-torchvision python3-onnx")
        if self.args.prebuilt:
            self.bins["imagebench"] = os.path.join(self.args.prebuilt, "imagebench", "ImageBench")
            self.bins["serve"] = os.path.join(self.args.prebuilt, "serve", "serve")
            return
        if not shutil.which("dotnet"):
            raise SystemExit("needs the .NET SDK (global.json), or --prebuilt DIR from benchmarks/gpu/pack.sh")
        projects = ["benchmarks/ImageBench"] + (["benchmarks/Preprocessing"] if self.wants("ceilings") else []) \
            + (["src/Serve.Cli"] if self.wants("serving") else []) \
            + (["benchmarks/Dispatch"] if self.wants("dispatch") else []) + (["samples/Digits"] if self.wants("startup") else [])
        for project in projects:
            sh(["dotnet", "build", project, "-c", "Release", "-v", "q", "-nologo"])
        self.bins["imagebench"] = os.path.join(REPO, "benchmarks/ImageBench/bin/Release/net10.0/ImageBench")
        self.bins["serve"] = os.path.join(REPO, "src/Serve.Cli/bin/Release/net10.0/serve")

    def wants(self, section):
        return section in (self.args.only.split(",") if self.args.only else SECTIONS)

    def skip(self, section, case, reason):
        log(f"skipped {section}/{case}: {reason}")
        self.results["skipped"].append({"section": section, "case": case, "reason": reason})

    def machine(self):
        with open("/proc/meminfo") as f:
            memory_gb = int(f.readline().split()[1]) / 1024 / 1024
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
        os_name = next((line.split("=", 1)[1].strip().strip('"') for line in open("/etc/os-release") if line.startswith("PRETTY_NAME=")), platform.system())
        gpu = output(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]) or "none"
        versions = json.loads(output([self.bins["imagebench"], "versions"]) or "{}")
        torch_version = output([DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable, "-c", "import torch; print(torch.__version__)"])
        commit = output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
        dirty = output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
        return {
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
            "mode": self.mode + (" (quick)" if self.args.quick else ""),
            "cpu": cpu, "cores": self.cores, "memory_gb": round(memory_gb, 1), "gpu": gpu, "os": os_name,
            "kernel": platform.release(),
            "dotnet": versions.get("dotnet", "unknown"), "onnxruntime": versions.get("onnxruntime", "unknown"),
            "torchsharp": versions.get("torchsharp", "unknown"),
            "libtorch": "none" if self.args.prebuilt else self.package_version("libtorch-cpu-linux-x64"),
            "python_torch": torch_version or "not installed",
            "git_commit": (commit or "unknown") + (" (with uncommitted changes)" if dirty else ""),
            "load_average_start": tools.loadavg(),
            "model": self.arch, "image": f"{os.path.basename(self.image)}", "seconds_per_run": self.seconds,
        }

    @staticmethod
    def package_version(name):
        try:
            with open(os.path.join(REPO, "Directory.Packages.props")) as f:
                line = next(l for l in f if f'"{name}"' in l)
            return line.split('Version="')[1].split('"')[0]
        except (OSError, StopIteration):
            return "unknown"

    # ----- the in-process ceilings -----

    def ceiling(self, backend, stage, threads, batch=1, device="cpu"):
        model = os.path.join(self.models, "model.onnx" if backend == "onnx" else "model.pt")
        argv = [self.bins["imagebench"], "ceiling", "--backend", backend, "--model", model, "--image", self.image,
                "--seconds", str(self.seconds), "--warmup", str(self.settle), "--threads", str(threads), "--stage", stage, "--batch", str(batch), "--device", device]
        log(" ".join(argv[1:]))
        result = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        result["load_average"] = tools.loadavg()
        self.results["ceilings"].append(result)
        return result

    def run_ceilings(self):
        self.ceiling_of = {}
        self.ceiling_of["onnx"] = self.ceiling("onnx", "full", self.cores, device=self.device)
        self.ceiling("onnx", "preprocess", self.cores)
        self.model_ceiling = self.ceiling("onnx", "model", 1, batch=32, device=self.device)
        if self.args.prebuilt:
            self.skip("ceilings", "torchscript", "the native AOT build has no TorchSharp, and the feed's libtorch is CPU-only")
        else:
            self.ceiling_of["torchscript"] = self.ceiling("torchscript", "full", self.cores)
        self.preprocessing_per_image()

    def preprocessing_per_image(self):
        """One thread, one image: ours (benchmarks/Preprocessing) against PIL + torchvision (torchvision_preprocess.py)."""
        python = DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable
        runs = [("Serve.Handlers (SkiaSharp, Pillow-exact resize)",
                 None if self.args.prebuilt else [os.path.join(REPO, "benchmarks/Preprocessing/bin/Release/net10.0/Preprocessing"), self.image]),
                ("PIL + torchvision", [python, os.path.join(REPO, "benchmarks/Preprocessing/torchvision_preprocess.py"), self.image])]
        for name, argv in runs:
            if argv is None:
                self.skip("ceilings", f"preprocessing per image, {name}", "needs dotnet; see the CPU table")
                continue
            log(" ".join(argv))
            result = subprocess.run(argv, capture_output=True, text=True)
            match = re.search(r"median ([0-9.]+) ms per image \(best ([0-9.]+)", result.stdout)
            if not match:
                self.skip("ceilings", f"preprocessing per image, {name}", f"no result (exit {result.returncode}): {(result.stdout + result.stderr)[-300:]}")
                continue
            median, best = float(match.group(1)), float(match.group(2))
            self.results["preprocessing"].append({"implementation": name, "ms_median": median, "ms_best": best,
                                                  "images_per_s_per_core": 1000 / median, "detail": result.stdout.strip().splitlines()[0],
                                                  "load_average": tools.loadavg()})

    # ----- serving over HTTP -----

    def measure(self, server, port, path, body_file, content_type, row, connections=CONNECTIONS, header=None):
        rss_loaded = tools.rss_mb(server.pid)
        if (server.pid, path) not in self.settled:
            self.settled.add((server.pid, path))
            tools.wrk(self.bins["wrk"], port, path, body_file, content_type, max(connections), self.settle, header=header)
        for c in connections:
            tools.wrk(self.bins["wrk"], port, path, body_file, content_type, c, self.warmup, header=header)
            result = tools.wrk(self.bins["wrk"], port, path, body_file, content_type, c, self.seconds, pid=server.pid, header=header)
            result.update(row, rss_after_load_mb=rss_loaded, load_average=tools.loadavg())
            # Rows of tensor inputs (no decode) are held against the model alone, the others against the whole work.
            if row.get("section") != "http":
                self.hold_against_ceiling(result)
            log(f"{row['server']} {row.get('backend', '')} b{row.get('batch', '')} c{c}: {result['rps']:.1f}/s p50 {result['p50_us'] / 1000:.1f} ms "
                f"p99 {result['p99_us'] / 1000:.1f} ms 503s {result['status_503']}")
            self.results["http" if row.get("section") == "http" else "serving"].append(result)

    def ceiling_for(self, row):
        """The ceiling a serving row is held against: tensor inputs (no decode) the model alone, the others the whole work."""
        if row.get("ceiling") == "model":
            return getattr(self, "model_ceiling", None)
        return getattr(self, "ceiling_of", {}).get(row.get("backend"))

    def hold_against_ceiling(self, result):
        ceiling = self.ceiling_for(result)
        if ceiling:
            result["ratio_to_ceiling"] = result["rps"] / ceiling["images_per_s"]
            ceiling_per_cpu = ceiling["images_per_s"] / max(ceiling["cpu_percent"], 1) * 100
            result["per_cpu_ratio_to_ceiling"] = result.get("per_cpu_second", 0) / ceiling_per_cpu

    def bracket_ceilings(self):
        """
        Runs the ceilings the serving rows are held against once more, after them, and holds every row
        against the mean of the two: on a shared machine the speed a process is given drifts over the
        minutes between the ceiling and the servers (docs/benchmarks.md, Reading the figures).
        """
        def again(before):
            after = self.ceiling(before["backend"], before["stage"], before["threads"], batch=before["batch"], device=before["device"])
            before["when"], after["when"] = "before serving", "after serving"
            return dict(after, images_per_s=(before["images_per_s"] + after["images_per_s"]) / 2,
                        cpu_percent=(before["cpu_percent"] + after["cpu_percent"]) / 2, when="mean")
        self.ceiling_of = {backend: again(c) for backend, c in self.ceiling_of.items()}
        if getattr(self, "model_ceiling", None):
            self.model_ceiling = again(self.model_ceiling)
        for result in self.results["serving"]:
            self.hold_against_ceiling(result)

    def serve_start(self, backend):
        """`serve start` with image_classifier archives and no model-config, then with batchSize 8 and 32."""
        store = tempfile.mkdtemp(prefix="serve-bench-store-")  # not under the logs: the archives hold the model
        serialized = os.path.join(self.models, "model.onnx" if backend == "onnx" else "model.pt")
        names = []
        for batch in BATCH_SIZES:
            name = f"{backend}-b{batch}"
            argv = [self.bins["serve"], "archive", "--model-name", name, "--version", "1.0", "--serialized-file", serialized,
                    "--handler", "image_classifier", "--export-path", store]
            if batch > 1:  # batch 1 is the archive with no model-config: the defaults a new user gets
                config = os.path.join(store, f"{name}.yaml")
                with open(config, "w") as f:
                    f.write(f"batchSize: {batch}\nmaxBatchDelay: 5\n")
                argv += ["--config-file", config]
            subprocess.run(argv, check=True, capture_output=True)
            names.append(name)
        ports = [tools.free_port() for _ in range(3)]
        properties = os.path.join(store, "config.properties")
        with open(properties, "w") as f:
            f.write(f"inference_address=http://127.0.0.1:{ports[0]}\nmanagement_address=http://127.0.0.1:{ports[1]}\n"
                    f"metrics_address=http://127.0.0.1:{ports[2]}\ngrpc_inference_port=0\ngrpc_management_port=0\n"
                    f"model_store={store}\ndisable_token_authorization=true\n")
        server = tools.Server(f"serve-{backend}", [self.bins["serve"], "start", "--foreground", "--ts-config", properties,
                                                   "--models"] + [f"{n}.mar" for n in names],
                              self.logs, env=dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1"), cwd=store)  # its logs/ go there
        try:
            body = open(self.image, "rb").read()
            for name in names:
                server.wait_for(ports[0], f"/predictions/{name}", body, "image/jpeg")
            for name, batch in zip(names, BATCH_SIZES):
                self.measure(server, ports[0], f"/predictions/{name}", self.image, "image/jpeg",
                             {"server": "serve start" + (" (no model-config)" if batch == 1 else ""), "backend": backend, "batch": batch,
                              "device": self.loaded_on(server, name), "model_copies": self.model_copies(ports[1], name)})
            if backend == "onnx":
                self.tensor_inputs(server, ports[0], names[-1], BATCH_SIZES[-1])
        finally:
            server.stop()
            shutil.rmtree(store, ignore_errors=True)

    def tensor_inputs(self, server, port, name, batch):
        """The same model fed preprocessed tensors over the Open Inference Protocol's binary extension: no decode."""
        values = struct.pack("<150528f", *(((i % 251) / 251 - 0.45) / 0.225 for i in range(3 * 224 * 224)))
        header = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32",
                                         "parameters": {"binary_data_size": len(values)}}]}).encode()
        body_file = os.path.join(self.logs, "tensor.bin")
        with open(body_file, "wb") as f:
            f.write(header + values)
        self.measure(server, port, f"/v2/models/{name}/infer", body_file, "application/octet-stream",
                     {"server": TENSOR_SERVER, "backend": "onnx", "batch": batch, "device": self.loaded_on(server, name), "ceiling": "model"},
                     connections=[8, 64], header=f"Inference-Header-Content-Length: {len(header)}")

    @staticmethod
    def model_copies(management_port, model):
        """Describe's modelCopies: the model's loaded copies by device, e.g. {"cpu": 1}."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{management_port}/models/{model}", timeout=10) as response:
                copies = json.load(response)[0].get("modelCopies", [])
        except (OSError, ValueError) as e:
            return {"error": str(e)}
        counted = {}
        for copy in copies:
            counted[copy["device"]] = counted.get(copy["device"], 0) + 1
        return counted

    @staticmethod
    def loaded_on(server, model):
        """The device the server's log says it loaded the model on, e.g. "cuda:0", "cpu"."""
        with open(server.log_path, errors="replace") as f:
            found = re.findall(rf"Loaded model {re.escape(model)} with \S+ on (\S+)", f.read())
        return found[0] if found else "not logged"

    def attribute_handler(self):
        port = tools.free_port()
        server = tools.Server("imagebench", [self.bins["imagebench"], "serve", "--urls", f"http://127.0.0.1:{port}",
                                             "--model", os.path.join(self.models, "model.onnx"),
                                             "--batch-sizes", ",".join(map(str, BATCH_SIZES))], self.logs,
                              env=dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1"))
        try:
            body = open(self.image, "rb").read()
            for batch in BATCH_SIZES:
                server.wait_for(port, f"/predictions/classifier-b{batch}", body, "image/jpeg")
            if self.wants("serving"):
                for batch in BATCH_SIZES:
                    self.measure(server, port, f"/predictions/classifier-b{batch}", self.image, "image/jpeg",
                                 {"server": "attribute handler", "backend": "onnx", "batch": batch,
                                  "device": self.loaded_on(server, f"classifier-b{batch}")})
                server.wait_for(port, "/predictions/classifier-batch-b8", body, "image/jpeg")
                self.measure(server, port, "/predictions/classifier-batch-b8", self.image, "image/jpeg",
                             {"server": "attribute handler, preprocess over the batch", "backend": "onnx", "batch": 8,
                              "device": self.loaded_on(server, "classifier-batch-b8")})
            if self.wants("http"):
                small = os.path.join(self.logs, "small.bin")
                with open(small, "wb") as f:
                    f.write(b"x" * 64)
                for name, path in [("bare Kestrel endpoint", "/bare"), ("echo handler", "/predictions/echo")]:
                    self.measure(server, port, path, small, "application/octet-stream", {"server": name, "section": "http"})
        finally:
            server.stop()

    def peer(self):
        python = DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable
        if output([python, "-c", "import fastapi, uvicorn, torch, torchvision, PIL"]) is None:
            return self.skip("serving", "FastAPI peer", f"{python} lacks fastapi, uvicorn, torch, torchvision or PIL: "
                             "apt-get install python3-fastapi python3-uvicorn python3-torch python3-torchvision python3-pil")
        port = tools.free_port()
        server = tools.Server("peer", [python, "-m", "uvicorn", "peer:app", "--app-dir", tools.SUITE, "--host", "127.0.0.1",
                                       "--port", str(port), "--workers", str(self.cores), "--log-level", "warning"], self.logs,
                              env=dict(os.environ, MODEL=os.path.join(self.models, "model.pt"), OMP_NUM_THREADS="1"))
        try:
            server.wait_for(port, "/predictions/peer", open(self.image, "rb").read(), "image/jpeg")
            self.measure(server, port, "/predictions/peer", self.image, "image/jpeg",
                         {"server": "FastAPI + uvicorn peer", "backend": "torchscript", "batch": 1})
        finally:
            server.stop()

    def run_serving(self):
        for backend in ["onnx", "torchscript"]:
            if backend == "torchscript" and self.args.prebuilt:
                self.skip("serving", "serve start torchscript", "the native AOT serve tool reads ONNX only (TorchSharp cannot be compiled ahead of time)")
                continue
            self.serve_start(backend)
        if self.wants("serving") or self.wants("http"):
            self.attribute_handler()
        self.peer()

    # ----- dispatch (BenchmarkDotNet) -----

    def run_dispatch(self):
        if self.args.prebuilt:
            return self.skip("dispatch", "all", "needs dotnet (BenchmarkDotNet); not GPU-specific: see the CPU table")
        result = os.path.join(self.logs, "dispatch.json")
        sh([os.path.join(REPO, "benchmarks/Dispatch/bin/Release/net10.0/Dispatch"), "--json", result] + (["--quick"] if self.args.quick else []),
           stdout=open(os.path.join(self.logs, "dispatch.log"), "w"))
        for row in json.load(open(result)):
            row["load_average"] = tools.loadavg()
            self.results["dispatch"].append(row)

    # ----- startup to the first prediction, and memory -----

    def run_startup(self):
        if self.args.prebuilt:
            return self.skip("startup", "all", "not GPU-specific: see the CPU table")
        jit = os.path.join(REPO, "samples/Digits/bin/Release/net10.0/Digits")
        builds = [("JIT", jit)]
        aot_dir = os.path.join(WORK, "digits-aot")
        if self.args.no_aot:
            self.skip("startup", "native AOT", "--no-aot")
        else:
            stamp = os.path.join(aot_dir, ".commit")
            # Published again when src/ or samples/ differ from the last publish's (committed trees, no local edits).
            head = output(["git", "-C", REPO, "rev-parse", "HEAD:src", "HEAD:samples"])
            if not (os.path.exists(stamp) and open(stamp).read() == head and not output(["git", "-C", REPO, "status", "--porcelain", "src", "samples"])):
                sh(["dotnet", "publish", "samples/Digits", "-c", "Release", "-p:ServeAot=true", "-o", aot_dir, "-v", "q", "-nologo"],
                   stdout=open(os.path.join(self.logs, "aot-publish.log"), "w"))
                open(stamp, "w").write(head or "")
            builds.append(("native AOT", os.path.join(aot_dir, "Digits")))
        digit = os.path.join(REPO, "samples/Digits/images/3.png")
        body = open(digit, "rb").read()
        for name, binary in builds:
            times, rss_loaded = [], []
            for attempt in range(3 if self.args.quick else 7):
                port = tools.free_port()
                server = tools.Server(f"digits-{attempt}", [binary, "--urls", f"http://127.0.0.1:{port}"], self.logs,
                                      cwd=os.path.dirname(binary), env=dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1"))
                try:
                    times.append(server.wait_for(port, "/predictions/digits", body, "image/png") * 1000)
                    rss_loaded.append(tools.rss_mb(server.pid))
                    if attempt == 0:
                        load = tools.wrk(self.bins["wrk"], port, "/predictions/digits", digit, "image/png", 8, self.seconds, pid=server.pid)
                finally:
                    server.stop()
            row = {"build": name, "first_prediction_ms_median": statistics.median(times), "first_prediction_ms_min": min(times),
                   "runs": len(times), "rss_after_load_mb": statistics.median(rss_loaded), "rss_under_load_mb": load["server_rss_peak_mb"],
                   "rps_under_load": load["rps"], "load_average": tools.loadavg()}
            log(f"startup {name}: {row['first_prediction_ms_median']:.0f} ms median, RSS {row['rss_after_load_mb']:.0f} MB, under load {row['rss_under_load_mb']:.0f} MB")
            self.results["startup"].append(row)

    # ----- the whole run -----

    def run(self):
        self.prepare()
        machine = self.machine()
        log(f"machine: {machine}")
        steps = [("ceilings", self.run_ceilings), ("serving", self.run_serving), ("dispatch", self.run_dispatch), ("startup", self.run_startup)]
        for section, step in steps:
            if section == "serving" and not self.wants("serving"):
                if self.wants("http"):
                    self.attribute_handler()
                continue
            if section == "serving" and not hasattr(self, "ceiling_of"):
                self.ceiling_of = {}
            if self.wants(section):
                step()
            if section == "serving" and self.wants("serving") and self.wants("ceilings"):
                self.bracket_ceilings()
        machine["load_average_end"] = tools.loadavg()
        return {"machine": machine, **self.results}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 s per measurement, short BenchmarkDotNet job, 3 startups")
    parser.add_argument("--gpu", action="store_true", help="ResNet-50 on CUDA (falls back to the CPU where there is none, and says so)")
    parser.add_argument("--seconds", type=int, help="seconds per measurement (default 15, quick 3)")
    parser.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    parser.add_argument("--model", help="torchvision architecture (default mobilenet_v3_small; --gpu resnet50)")
    parser.add_argument("--models-dir", help="a directory with model.onnx and model.pt (default: made by make_models.py)")
    parser.add_argument("--image", default=os.path.join(REPO, "tests/fixtures/vision/images/china.jpg"), help="default: a 640x427 JPEG (scikit-learn's china.jpg)")
    parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results"))
    parser.add_argument("--prebuilt", help="binaries from benchmarks/gpu/pack.sh (serve/, imagebench/, wrk)")
    parser.add_argument("--wrk", help="the wrk binary (default: on PATH)")
    parser.add_argument("--logs", help="where server logs go (default: a new temporary directory)")
    parser.add_argument("--no-aot", action="store_true", help="skip the native AOT publish of the digits sample")
    args = parser.parse_args()
    suite = Suite(args)
    try:
        results = suite.run()
    finally:
        log(f"server logs: {suite.logs}")
    os.makedirs(args.out, exist_ok=True)
    name = suite.mode + ("-quick" if args.quick else "")
    markdown = report.markdown(results)
    with open(os.path.join(args.out, f"{name}.md"), "w") as f:
        f.write(markdown)
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(markdown)
    log(f"wrote {os.path.join(args.out, name)}.md and .json")


if __name__ == "__main__":
    main()
