"""The API under an open-loop load: single-record predictions offered at a fixed rate (default
1,000 requests/s for 10 s) on loopback, whatever the server's pace — latency counts from when each
request was due, so a slow server cannot hide its queue (no coordinated omission).

The server (``runner.py serve``, one process) is pinned to CPU 0 and this load generator to CPU 1
when the machine has two or more, so they do not share a core during the measurement. Baseline in
the same run, at the same rate: the baseline's request form (a JSON body naming a data file the
server reads for every request).

    .venv/bin/python bench/api_openloop.py [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import RECORD, latency_summary, warm_server  # noqa: E402

TARGET_P99_MS = 10.0


async def _open_loop(port: int, rate: float, seconds: float, body: bytes, connections: int) -> dict[str, float]:
    request = (b"POST /prediction HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    clock = time.perf_counter  # the event loop's own clock may tick in whole milliseconds
    latencies: list[float] = []
    errors = [0]

    async def one(due: float) -> None:
        reader, writer = await idle.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if status != 200:
                errors[0] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
            errors[0] += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        latencies.append(clock() - due)
        idle.put_nowait((reader, writer))

    start = clock() + 0.05
    total = int(rate * seconds)
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    elapsed = clock() - start
    while not idle.empty():
        _, writer = idle.get_nowait()
        writer.close()
    return {**latency_summary(latencies, errors[0], elapsed), "offered": rate}


def open_loop(port: int, rate: float, seconds: float, body: bytes, connections: int = 64) -> dict[str, float]:
    try:
        import uvloop  # installed with uvicorn[standard]; a steadier clock for the schedule
        return uvloop.run(_open_loop(port, rate, seconds, body, connections))
    except ImportError:
        return asyncio.run(_open_loop(port, rate, seconds, body, connections))


def pin(server_pid: int) -> str:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return "server and load generator share the only core"
    for task in os.listdir(f"/proc/{server_pid}/task"):  # every thread of the server
        os.sched_setaffinity(int(task), {cores[0]})
    os.sched_setaffinity(0, set(cores[1:]))
    return f"server pinned to CPU {cores[0]}, load generator to CPU {','.join(map(str, cores[1:]))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with warm_server("riskwatch-bench-openloop-") as (server, port):
        placement = pin(server.pid)
        ours = open_loop(port, args.rate, args.seconds, RECORD)
        time.sleep(1.0)
        base = open_loop(port, args.rate, args.seconds, json.dumps({"data_path": "testdata.csv"}).encode())
    print(f"open loop: {args.rate:.0f} requests/s offered for {args.seconds:.0f} s on loopback; {placement}")
    print(f"{'figure':<40} {'ours':>10} {'baseline':>10}")
    for key, label in (("rps", "achieved"), ("p50_ms", "p50_ms"), ("p99_ms", "p99_ms"), ("max_ms", "max_ms"),
                       ("errors", "errors")):
        print(f"{label:<40} {ours[key]:>10.2f} {base[key]:>10.2f}")
    met = ours["p99_ms"] <= TARGET_P99_MS and ours["errors"] == 0
    print(f"target: p99 <= {TARGET_P99_MS:.0f} ms and 0 errors at {args.rate:.0f} req/s: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
