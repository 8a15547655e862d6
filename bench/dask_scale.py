"""The Dask engine on a drop larger than its cluster's memory: ingest, profile and score it on a
LocalCluster of 2 workers × 1 thread × 400 MB, and count worker restarts (there must be none).

The drop is ``bench/scale.py``'s generator (client rows, ~10% repeated across files), copied with
a different id prefix per copy until its CSV size is at least three times the workers' total
memory. Figures: time per step, rows, data size against total worker memory, restarts (worker
processes that left the scheduler, and worker pids before against after).

    .venv/bin/python bench/dask_scale.py [--scale 3.0] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, Row, print_table  # noqa: E402

sys.path.insert(0, str(REPO))
from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

N_WORKERS, THREADS, WORKER_MEMORY = 2, 1, 400_000_000
BASE_ROWS, BASE_FILES = 3_000_000, 12  # generated once (~55 MB), then copied under new ids


def make_drop(folder: Path, target_bytes: int) -> tuple[int, int]:
    """CSV files of at least ``target_bytes`` in all; returns (bytes, files)."""
    from scale import make_ingestion_data

    base = folder / "base"
    base.mkdir(parents=True)
    make_ingestion_data(base, BASE_ROWS, BASE_FILES)
    drop = folder / "drop"
    drop.mkdir()
    sources = [p.read_bytes() for p in sorted(base.glob("*.csv"))]
    shutil.rmtree(base)
    written, copy = 0, 0
    while written < target_bytes:
        tag = f"\nr{copy:03d}-".encode()
        for i, data in enumerate(sources):
            header, _, body = data.partition(b"\n")
            text = header + (b"\n" + body.rstrip(b"\n")).replace(b"\n", tag) + b"\n"  # every id prefixed
            (drop / f"c{copy:03d}_{i:02d}.csv").write_bytes(text)
            written += len(text)
        copy += 1
    return written, len(list(drop.glob("*.csv")))


class RestartCounter(SchedulerPlugin):
    """A scheduler plugin counting workers that leave the scheduler while the benchmark runs."""

    name = "riskwatch-restart-counter"

    def __init__(self) -> None:
        self.removed: list[str] = []

    def remove_worker(self, scheduler, worker, **kwargs) -> None:
        self.removed.append(worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=3.0, help="drop size over total worker memory")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from riskwatch.config import Schema
    from riskwatch import dask_ingest
    from riskwatch.tables import ValidationError
    from riskwatch.dask_parts import finaldata_parts
    from riskwatch.dask_profile import profile_of_parts
    from riskwatch.dask_scoring import score_parts
    from riskwatch.dask_training import stratified_sample
    from riskwatch.model import train_model

    schema = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (),
                    "exited")
    total_memory = N_WORKERS * WORKER_MEMORY
    work = args.keep or Path(tempfile.mkdtemp(prefix="dask_scale_", dir=os.environ.get("TMPDIR")))
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    try:
        start = time.perf_counter()
        size, n_files = make_drop(work, int(args.scale * total_memory))
        timings["generate"] = time.perf_counter() - start
        print(f"drop: {n_files} files, {size / 1e9:.2f} GB = {size / total_memory:.1f}x the workers' "
              f"{total_memory / 1e9:.2f} GB ({timings['generate']:.0f} s to generate)", flush=True)

        import dask

        # Arrow's own allocator keeps freed memory, which a 400 MB worker cannot afford: use malloc's.
        dask.config.set({"distributed.nanny.pre-spawn-environ.ARROW_DEFAULT_MEMORY_POOL": "system"})
        counter = RestartCounter()
        with LocalCluster(n_workers=N_WORKERS, threads_per_worker=THREADS, memory_limit=WORKER_MEMORY,
                          processes=True, dashboard_address=None, local_directory=str(work / "dask")) as cluster, \
                Client(cluster) as client:
            cluster.scheduler.add_plugin(counter)
            pids_before = client.run(os.getpid)

            start = time.perf_counter()
            out = work / "ingested"
            staged = dask_ingest.stage_files(client, sorted((work / "drop").glob("*.csv")), schema, out / "parts")
            assert not [s for s in staged if isinstance(s, ValidationError) or s.bad is not None]
            timings["check+stage"] = time.perf_counter() - start
            dask_ingest.merge(client, [s.source() for s in staged], schema, out / "finaldata.parquet",
                              out / "finaldata.csv")
            timings["ingest"] = time.perf_counter() - start
            import pyarrow.parquet as pq

            ingested = {"rows_read": sum(s.rows for s in staged), "csv": out / "finaldata.csv",
                        "rows": pq.ParquetFile(out / "finaldata.parquet").metadata.num_rows}
            shutil.rmtree(out / "parts")
            print(f"ingested: {ingested['rows_read']:,} rows read → {ingested['rows']:,} distinct "
                  f"({timings['ingest']:.0f} s, {timings['check+stage']:.0f} s of it checking and staging)", flush=True)

            trimmed = {"after ingest": _trimmed(client)}  # what the shuffle freed, handed back before the next step
            parts = finaldata_parts(ingested["csv"], schema, 4_000_000, schema.columns)  # ~1 row group (input file) each
            start = time.perf_counter()
            profile = profile_of_parts(client, parts, schema.numeric_features, schema.categorical_features)
            timings["profile"] = time.perf_counter() - start
            print(f"profile: {profile.n_rows:,} rows in {len(parts)} partitions ({timings['profile']:.0f} s)",
                  flush=True)

            trimmed["after profile"] = _trimmed(client)
            start = time.perf_counter()
            sample, how = stratified_sample(client, parts, schema.target, 200_000)
            model = train_model(sample, schema, "sklearn.linear_model.LogisticRegression",
                                {"C": 1.0, "solver": "liblinear", "random_state": 0})
            timings["sample+fit"] = time.perf_counter() - start
            trimmed["after sample"] = _trimmed(client)
            start = time.perf_counter()
            metrics = score_parts(client, parts, model, schema)
            timings["score"] = time.perf_counter() - start
            print(f"scored {metrics['n']:,} rows: F1 {metrics['f1']:.3f}, ROC AUC {metrics['roc_auc']:.3f} "
                  f"({timings['score']:.0f} s); trained on {how['rows']:,} of {how['of']:,}", flush=True)

            pids_after = client.run(os.getpid)
            changed = sum(1 for w, pid in pids_before.items() if pids_after.get(w) != pid)
            restarts = max(len(counter.removed), changed)
            peak = {w: m for w, m in client.run(_peak_rss).items()}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    work_seconds = sum(v for k, v in timings.items() if k != "generate")
    print_table([
        Row("drop size / total worker memory", size / total_memory, None, "x", "≥ 3", size / total_memory >= 3,
            better_when_lower=False),
        Row("rows read", ingested["rows_read"] / 1e6, None, "M"),
        Row("distinct rows written (finaldata)", ingested["rows"] / 1e6, None, "M"),
        Row("ingest: check + stage, one task per file", timings["check+stage"], None, "s"),
        Row("ingest: all (+ shuffle de-dup + write)", timings["ingest"], None, "s"),
        Row("reference profile, 2 passes", timings["profile"], None, "s"),
        Row("stratified sample 200k + fit", timings["sample+fit"], None, "s"),
        Row("score every row (model broadcast once)", timings["score"], None, "s"),
        Row("ingest + profile + sample + score", work_seconds, None, "s"),
        *[Row(f"worker RSS {step}, trimmed (highest)", max(rss.values()) / 1e6, None, "MB")
          for step, rss in trimmed.items()],
        Row("highest worker peak RSS", max(peak.values()) / 1e6, None, "MB", f"< {WORKER_MEMORY / 1e6:.0f}"),
        Row("worker restarts", restarts, None, "", "0", restarts == 0),
    ])
    verdict = "PASS" if restarts == 0 and size >= 3 * total_memory else "FAIL"
    print(f"\n{verdict}: {size / 1e9:.2f} GB ({size / total_memory:.1f}x the cluster's {total_memory / 1e9:.2f} GB) "
          f"ingested, profiled and scored with {restarts} worker restart(s)")
    assert restarts == 0, f"{restarts} worker restart(s)"
    return 0 if verdict == "PASS" else 1


def _trim() -> int:
    """Give the memory glibc kept after a step back to the system (what Dask's docs advise for
    unmanaged memory that is freed but not released)."""
    import ctypes

    return ctypes.CDLL("libc.so.6").malloc_trim(0)


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _trimmed(client) -> dict[str, int]:
    """Each worker's resident memory once what it freed is handed back."""
    client.run(_trim)
    return client.run(_rss)


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    sys.exit(main())
