"""API memory benchmark: the resident memory (RSS) of a real uvicorn server before, right after and
some seconds after five concurrent 60 MB CSV uploads to ``POST /prediction``.

Runs ``runner.py serve`` in its own process on a free 127.0.0.1 port against a throw-away project
(v1 trained on the bundled sample data, ``api.max_upload_bytes`` raised to 500 MB), reads the
server's RSS with psutil, and prints each figure with its ratio to the RSS at start. Half the
uploads are raw ``text/csv`` bodies, half multipart files, so both upload paths are measured.

    .venv/bin/python bench/api_memory.py [--uploads 5] [--megabytes 60] [--settle 5]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api import prepare_project, start_server  # noqa: E402

TARGET_RATIO = 1.5  # RSS some seconds after the uploads, relative to the RSS at start


def csv_body(megabytes: float) -> bytes:
    """Sample clients as CSV, about ``megabytes`` MB."""
    import numpy as np

    from riskwatch.sample import PRODUCTION, make_clients

    sample = make_clients(20_000, PRODUCTION, np.random.default_rng(7)).drop(columns=["exited"])
    rows = int(20_000 * megabytes * 1_000_000 / len(sample.to_csv(index=False)))
    return make_clients(rows, PRODUCTION, np.random.default_rng(7)).drop(columns=["exited"]) \
        .to_csv(index=False).encode()


def multipart(body: bytes) -> tuple[bytes, str]:
    boundary = "riskwatch-bench-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clients.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    return head + body + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(port: int, body: bytes, content_type: str, statuses: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/prediction", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    response.read()
    statuses.append(response.status)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before the last reading")
    args = parser.parse_args()
    raw = csv_body(args.megabytes)
    form, form_type = multipart(raw)
    bodies = [(raw, "text/csv") if i % 2 == 0 else (form, form_type) for i in range(args.uploads)]
    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-memory-") as tmp:
        config = prepare_project(Path(tmp))
        server, port = start_server(config)
        try:
            process = psutil.Process(server.pid)
            # One small prediction first, so the model is loaded before the first reading.
            upload(port, b"corporation,lastmonth_activity,lastyear_activity,number_of_employees\na,1,2,3\n",
                   "text/csv", [])
            start_mb = process.memory_info().rss / 1e6
            peak = [start_mb]
            statuses: list[int] = []
            threads = [threading.Thread(target=upload, args=(port, body, kind, statuses)) for body, kind in bodies]
            began = time.perf_counter()
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                peak.append(process.memory_info().rss / 1e6)
                time.sleep(0.05)
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began
            after_mb = process.memory_info().rss / 1e6
            time.sleep(args.settle)
            settled_mb = process.memory_info().rss / 1e6
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{args.uploads} concurrent uploads of {len(raw) / 1e6:.0f} MB CSV ({len(raw.splitlines()) - 1:,} rows), "
          f"statuses {sorted(statuses)}, {elapsed:.1f} s")
    print(f"{'server RSS':<36} {'MB':>8} {'x start':>8}")
    for label, value in (("at start", start_mb), ("peak during the uploads", max(peak)),
                         ("right after", after_mb), (f"{args.settle:.0f} s later", settled_mb)):
        print(f"{label:<36} {value:>8.0f} {value / start_mb:>7.2f}x")
    ratio = settled_mb / start_mb
    print(f"target: RSS {args.settle:.0f} s later <= {TARGET_RATIO}x start: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    if any(status != 200 for status in statuses):
        raise SystemExit(f"not every upload was scored: {statuses}")


if __name__ == "__main__":
    main()
