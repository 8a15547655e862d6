"""API benchmark on loopback: latency and throughput of single-record predictions at 1, 16 and 64
concurrent clients, and the time to score a 1,000,000-row CSV upload; then ``bench/api_memory.py``
(the server's RSS after five concurrent 60 MB uploads) unless ``--no-memory``.

Runs the real server (``runner.py serve``) in its own process on a free 127.0.0.1 port, against a
throw-away project whose model is trained on the bundled sample data. Bounded: each load level
runs for ``--seconds`` (default 5). Baseline in the same run: the baseline's request form, a JSON
body naming a data file that the server reads for every request.

    .venv/bin/python bench/api.py [--seconds 5] [--rows 1000000] [--no-memory]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RECORD = json.dumps([{"corporation": "abcd", "lastmonth_activity": 12, "lastyear_activity": 2400,
                      "number_of_employees": 3}]).encode()
TARGETS = {"p99_ms_64": 10.0, "rps_64": 1500.0, "upload_s": 3.0}


def prepare_project(root: Path) -> Path:
    """A project with v1 deployed, made with the functions the stage notebooks call (no kernel)."""
    from riskwatch.config import load_config
    from riskwatch.inprocess import train_and_deploy_in_process

    for part in ("practicedata", "testdata"):
        shutil.copytree(REPO / "data" / part, root / "data" / part)
    config = json.loads((REPO / "config.json").read_text())
    config["api"] = {"max_upload_bytes": 500_000_000}
    (root / "config.json").write_text(json.dumps(config))
    train_and_deploy_in_process(load_config(root / "config.json"), "bench")
    return root / "config.json"


def load(port: int, clients: int, seconds: float, body: bytes) -> dict[str, float]:
    """``clients`` threads, each on its own keep-alive connection, posting for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            conn.request("POST", "/prediction", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latency_summary(latencies, errors[0], time.monotonic() - began)


def latency_summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, float]:
    """Requests, errors, rate (``rps``) and p50/p99/max latency in ms of one load run."""
    latencies = sorted(latencies)
    pick = lambda q: 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * q))]  # noqa: E731
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": 1000 * latencies[-1]}


def upload_time(port: int, rows: int) -> tuple[float, int]:
    import numpy as np

    from riskwatch.sample import PRODUCTION, make_clients

    frame = make_clients(rows, PRODUCTION, np.random.default_rng(1)).drop(columns=["exited"])
    body = frame.to_csv(index=False).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    start = time.perf_counter()
    conn.request("POST", "/prediction", body=body, headers={"Content-Type": "text/csv"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - start
    assert response.status == 200, payload[:300]
    return elapsed, len(body)


def start_server(config: Path) -> tuple[subprocess.Popen, int]:
    """``runner.py serve`` for ``config`` on a free 127.0.0.1 port, once its port accepts connections."""
    from riskwatch.screenshots import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, str(REPO / "runner.py"), "--config", str(config), "serve",
                               "--port", str(port)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.1)


@contextmanager
def warm_server(prefix: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """A throw-away project with v1 deployed, its server on a free port, warmed up; stopped after."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server, port = start_server(prepare_project(Path(tmp)))
        try:
            load(port, 4, 1.0, RECORD)  # warm-up: model loaded, code paths hot
            yield server, port
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-memory", action="store_true", help="skip bench/api_memory.py")
    args = parser.parse_args()
    with warm_server("riskwatch-bench-api-") as (_, port):
        baseline_body = json.dumps({"data_path": "testdata.csv"}).encode()
        rows = []
        for clients in (1, 16, 64):
            ours = load(port, clients, args.seconds, RECORD)
            base = load(port, clients, args.seconds, baseline_body)
            rows.append((clients, ours, base))
        seconds, size = upload_time(port, args.rows)
    print(f"{'figure':<42} {'ours':>10} {'baseline':>10} {'ratio':>7}")
    for clients, ours, base in rows:
        for key in ("p50_ms", "p99_ms", "rps"):
            ratio = (base[key] / ours[key]) if key != "rps" else (ours[key] / base[key])
            print(f"{key} at {clients:>2} clients{'':<22} {ours[key]:>10.2f} {base[key]:>10.2f} {ratio:>6.1f}x")
        if ours["errors"] or base["errors"]:
            print(f"  errors at {clients} clients: ours {ours['errors']}, baseline {base['errors']}")
    print(f"{'1M-row CSV upload scored (s), ' + str(size // 1_000_000) + ' MB':<42} {seconds:>10.2f}")
    p99, rps = rows[-1][1]["p99_ms"], rows[-1][1]["rps"]
    print(f"targets: p99 <= {TARGETS['p99_ms_64']} ms at 64: {'met' if p99 <= TARGETS['p99_ms_64'] else 'NOT met'}; "
          f">= {TARGETS['rps_64']:.0f} req/s: {'met' if rps >= TARGETS['rps_64'] else 'NOT met'}; "
          f"upload <= {TARGETS['upload_s']} s: {'met' if seconds <= TARGETS['upload_s'] else 'NOT met'} "
          "(the load generator shares the 2 cores with the server)")
    if not args.no_memory:  # the server's memory after large uploads, in a fresh server (make bench runs this file)
        print(flush=True)
        subprocess.run([sys.executable, str(REPO / "bench" / "api_memory.py")], check=True)


if __name__ == "__main__":
    main()
