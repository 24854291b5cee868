"""Processes, ports, wrk and /proc for benchmarks/run.sh. Standard library only: the GPU machine has
python3 but nothing else of ours. Every process started here is stopped by its pid."""
import http.client
import json
import os
import socket
import subprocess
import threading
import time

SUITE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body, content_type="application/octet-stream", timeout=30):
    """One POST; (status, body). Raises OSError while nothing listens."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Server:
    """A server process on 127.0.0.1, its log in a file, stopped by pid (SIGTERM, then SIGKILL)."""

    def __init__(self, name, argv, log_dir, env=None, cwd=None):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                        start_new_session=True)

    @property
    def pid(self):
        return self.process.pid

    def wait_for(self, port, path, body, content_type, timeout=300):
        """Posts until a 200 comes back; returns seconds from exec to that answer."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} before answering; see {self.log_path}")
            try:
                status, _ = post(port, path, body, content_type, timeout=60)
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout} s; see {self.log_path}")

    def stop(self):
        if self.process.poll() is None:
            # uvicorn's workers are its children: signal the session the server leads (its own pid).
            try:
                os.killpg(self.process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


def descendants(pid):
    """pid and every process below it (uvicorn's workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def rss_mb(pid):
    """Resident memory of pid and its descendants, MB."""
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def cpu_seconds(pid):
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def wrk(wrk_bin, port, path, body_file, content_type, connections, seconds, pid=None, env=None, header=None):
    """One wrk run; its WRKJSON line plus req/s, the server's CPU % and peak RSS over the run."""
    threads = max(1, min(connections, 2))
    run_env = dict(os.environ if env is None else env, BENCH_BODY=body_file, BENCH_TYPE=content_type, BENCH_HEADER=header or "")
    argv = [wrk_bin, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "-s", os.path.join(SUITE, "wrk.lua"), f"http://127.0.0.1:{port}{path}"]
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.25):
            peak[0] = max(peak[0], rss_mb(pid))

    sampler = threading.Thread(target=sample) if pid else None
    cpu_before, start = (cpu_seconds(pid) if pid else 0), time.perf_counter()
    if sampler:
        sampler.start()
    out = subprocess.run(argv, capture_output=True, text=True, env=run_env)
    stop.set()
    if sampler:
        sampler.join()
    elapsed = time.perf_counter() - start
    line = next((l for l in out.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    result = json.loads(line[len("WRKJSON "):])
    # Answered requests per second: 503s and other failures are counted apart, not as throughput.
    result["answered"] = result["requests"] - result["status_503"] - result["status_other"]
    result["rps"] = result["answered"] / result["seconds"] if result["seconds"] else 0.0
    result["connections"] = connections
    if pid:
        used = cpu_seconds(pid) - cpu_before
        result["server_cpu_percent"] = used / elapsed * 100
        # Requests per CPU-second the server spent: what each request costs, whatever share of the
        # cores other processes left it (wrk's own CPU is not counted).
        result["per_cpu_second"] = result["answered"] / used if used > 0 else 0.0
        result["server_rss_peak_mb"] = peak[0]
    return result
