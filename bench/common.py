"""Helpers shared by the benchmarks: timing child processes with their own peak memory, and the
one table `make bench` prints."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Row:
    figure: str
    ours: float
    baseline: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    better_when_lower: bool = True

    @property
    def ratio(self) -> str:
        if self.baseline is None or not self.ours:
            return ""
        value = self.baseline / self.ours if self.better_when_lower else self.ours / self.baseline
        return f"{value:.1f}x"


def run_measured(args: list[str], cwd: Path | None = None, env: dict | None = None,
                 timeout: float = 600) -> tuple[float, float, str]:
    """Run a child process; return (wall seconds, its own peak RSS in MB, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=timeout)
    # communicate() reaps the child; its rusage is then in RUSAGE_CHILDREN only as a max over all
    # children, so a tiny wrapper reports the child's own peak instead (see peak_rss_snippet).
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({process.returncode}): {stderr[-2000:]}")
    peak = 0.0
    for line in stdout.splitlines():
        if line.startswith("PEAK_RSS_MB="):
            peak = float(line.split("=", 1)[1])
    return elapsed, peak, stdout


PEAK_SNIPPET = ("import resource, atexit; atexit.register(lambda: print('PEAK_RSS_MB=%.1f' % "
                "(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), flush=True))")


def python_measured(code: str, **kwargs) -> tuple[float, float, str]:
    """Run Python ``code`` in a fresh interpreter that reports its own peak RSS."""
    return run_measured([PYTHON, "-c", PEAK_SNIPPET + "\n" + code], **kwargs)


def print_table(rows: list[Row]) -> None:
    print(f"\n{'figure':<52} {'ours':>11} {'baseline':>11} {'ratio':>7}  target")
    for row in rows:
        base = f"{row.baseline:.2f}" if row.baseline is not None else "—"
        verdict = "" if row.met is None else (" met" if row.met else " NOT met")
        print(f"{row.figure + ' (' + row.unit + ')':<52} {row.ours:>11.2f} {base:>11} {row.ratio:>7}  "
              f"{row.target}{verdict}")
