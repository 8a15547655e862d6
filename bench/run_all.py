"""`make bench`: every benchmark, one table (figure, ours, baseline, ratio, target).

Each benchmark makes its own data in a temporary folder and removes it. `--quick` shrinks the
scale benchmarks (for a smoke run); the targets refer to the full sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline  # noqa: E402
import ingestion  # noqa: E402
import scale  # noqa: E402
from common import print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M ingestion rows instead of 10M")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name, bench in (("cron tick, cycle, per-stage overhead", pipeline.cycle_and_tick),
                        ("scoring at scale", scale.scoring),
                        ("drift at scale", scale.drift),
                        ("drift check against a reference profile", scale.profile_check),
                        ("1M-row batch against a 10M-row profile", scale.profile_check_large),
                        ("ingestion at scale", (lambda: ingestion.ingestion(1_000_000, 20, False)) if args.quick
                         else ingestion.ingestion)):
        print(f"running: {name} …", flush=True)
        rows += bench()
    print_table(rows)
    print(f"\n(all benchmarks: {time.perf_counter() - start:.0f} s; API and dashboard: bench/api.py, "
          "bench/dashboard.py)")


if __name__ == "__main__":
    main()
