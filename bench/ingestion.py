"""Ingestion at scale: ours against DuckDB doing the same merge and de-duplication, and against the
baseline's pandas way, on the same files in the same run; then the same drop doubled, for memory.

- ours: ``riskwatch.ingestion.ingest`` — every file checked by the rules, merged, de-duplicated,
  written as ``finaldata.csv`` and ``finaldata.parquet``, the batch written, the record updated.
- DuckDB's own: one query reads the files, keeps the first of each exact duplicate in file order
  and writes the CSV (DuckDB's defaults: all cores, 80 % of RAM). Its output must be our bytes:
  this is the issue's figure. The same query within 512 MB, and ``SELECT DISTINCT`` (the rows in
  whatever order DuckDB finds them: not the same file) are shown beside it.
- pandas: read_csv per file, concat, drop_duplicates, to_csv (the baseline's way).

Times are measured inside each process around the work (interpreter start and imports excluded);
peak memory is the whole process's. The same rows in ten times as many files show that memory does
not grow with the number of files either. Every run writes into an empty place and starts with the disk
settled (``os.sync``): the drop was just written, and the run that came first would otherwise pay
for writing it back.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, Row, print_table, python_measured  # noqa: E402
from scale import make_ingestion_data  # noqa: E402

SCHEMA = ('Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (), '
          '"exited")')
COLUMNS = "corporation, lastmonth_activity, lastyear_activity, number_of_employees, exited"


def _fresh(out: Path) -> None:
    """No earlier run's output where this run writes (replacing it costs), and the disk settled."""
    if out.is_dir():
        shutil.rmtree(out)
    else:
        out.unlink(missing_ok=True)
    os.sync()


def ours(data: Path, out: Path) -> tuple[float, float]:
    _fresh(out)  # every run a first ingestion, into an empty folder
    _, mem, stdout = python_measured(f"""
import sys, time; sys.path.insert(0, {str(REPO)!r})
from riskwatch.config import Schema
from riskwatch.ingestion import ingest
start = time.perf_counter()
r = ingest({str(data)!r}, {str(out)!r}, {str(out / 'quarantine')!r}, {SCHEMA}, "bench",
           batch_path={str(out / 'batch.parquet')!r})
print("SECONDS", time.perf_counter() - start)
print("ROWS", r.n_rows, "QUARANTINED", len(r.quarantined))
""")
    return _field(stdout, "SECONDS"), mem


DUCKDB_QUERIES = {
    # The query the issue measured: every distinct row, in no particular order.
    "distinct": "SELECT DISTINCT * FROM read_csv({files})",
    # The same job as ours: the first of each duplicate kept, in file order (our bytes).
    "ordered": "SELECT {columns} FROM (SELECT {columns}, min(pos) AS pos FROM (SELECT *, row_number() OVER () AS pos "
               "FROM read_csv({files})) GROUP BY ALL) ORDER BY pos",
}


def duckdb_own(data: Path, out: Path, query: str = "ordered", memory_limit: str = "") -> tuple[float, float]:
    _fresh(out)
    setting = f"con.execute(\"SET memory_limit = '{memory_limit}'\").fetchall()" if memory_limit else ""
    _, mem, stdout = python_measured(f"""
import glob, time, duckdb
files = sorted(glob.glob({str(data)!r} + "/*.csv"))
con = duckdb.connect()
con.execute("SET enable_progress_bar = false").fetchall()
{setting}
start = time.perf_counter()
query = {DUCKDB_QUERIES[query]!r}.format(files=repr(files), columns={COLUMNS!r})
con.execute(f"COPY ({{query}}) TO '{out}' (HEADER)").fetchall()
print("SECONDS", time.perf_counter() - start)
""")
    return _field(stdout, "SECONDS"), mem


def pandas_way(data: Path, out: Path) -> tuple[float, float]:
    _fresh(out)
    _, mem, stdout = python_measured(f"""
import glob, time, pandas as pd
start = time.perf_counter()
final = pd.concat([pd.read_csv(p) for p in sorted(glob.glob({str(data)!r} + "/*.csv"))]).drop_duplicates()
final.to_csv({str(out)!r}, index=False, lineterminator="\\n")
print("SECONDS", time.perf_counter() - start)
""")
    return _field(stdout, "SECONDS"), mem


def ingestion(rows: int = 10_000_000, files: int = 20, doubled: bool = True, rounds: int = 3) -> list[Row]:
    """The figures, each the median of ``rounds`` runs taken in turn (ours, then each DuckDB
    query, then ours again...), so a slow moment of the machine does not decide a ratio."""
    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-ingest-") as tmp:
        tmp = Path(tmp)
        data = tmp / "in"
        data.mkdir()
        size_mb = make_ingestion_data(data, rows, files) / 1e6
        runs: dict[str, list[tuple[float, float]]] = {"ours": [], "duck": [], "distinct": [], "bounded": []}
        for _ in range(rounds):
            runs["ours"].append(ours(data, tmp / "ours"))
            runs["duck"].append(duckdb_own(data, tmp / "duckdb.csv"))
            runs["distinct"].append(duckdb_own(data, tmp / "distinct.csv", "distinct"))
            runs["bounded"].append(duckdb_own(data, tmp / "bounded.csv", "ordered", "512MB"))
        (ours_t, ours_mem), (duck_t, duck_mem), (distinct_t, distinct_mem), (bounded_t, bounded_mem) = (
            _medians(runs[k]) for k in ("ours", "duck", "distinct", "bounded"))
        pandas_t, pandas_mem = pandas_way(data, tmp / "pandas.csv")
        digest = _digest(tmp / "ours" / "finaldata.csv")
        same = digest == _digest(tmp / "duckdb.csv") == _digest(tmp / "pandas.csv")
        label = f"{rows / 1e6:.0f}M rows / {files} files ({size_mb:.0f} MB)"
        print(f"ingestion of {label}, seconds of each run: ours {_spread(runs['ours'])}, "
              f"DuckDB same job {_spread(runs['duck'])}, within 512 MB {_spread(runs['bounded'])}, "
              f"SELECT DISTINCT {_spread(runs['distinct'])}; medians below")
        result = [
            Row(f"ingestion {label} vs DuckDB, same job (first kept, in order), identical={same}", ours_t,
                duck_t, "s", "≤ 1.2x DuckDB's time", ours_t <= 1.2 * duck_t),
            Row("  vs DuckDB's SELECT DISTINCT (rows in any order: another file)", ours_t, distinct_t, "s", "", None),
            Row("  vs DuckDB, same job within 512 MB (as ours)", ours_t, bounded_t, "s", "≤ 1.2x",
                ours_t <= 1.2 * bounded_t),
            Row(f"ingestion {label} vs pandas", ours_t, pandas_t, "s", "faster than pandas", ours_t < pandas_t),
            Row("ingestion peak memory vs DuckDB, same job", ours_mem, duck_mem, "MB", "≤ 1,000 MB", ours_mem <= 1000),
            Row("  vs DuckDB, same job within 512 MB / SELECT DISTINCT", bounded_mem, distinct_mem, "MB", "", None),
            Row("ingestion peak memory vs pandas", ours_mem, pandas_mem, "MB", "≤ 1,000 MB", ours_mem <= 1000),
        ]
    if doubled:
        with tempfile.TemporaryDirectory(prefix="riskwatch-bench-ingest2-") as tmp:
            tmp = Path(tmp)
            data = tmp / "in"
            data.mkdir()
            size2 = make_ingestion_data(data, 2 * rows, files) / 1e6
            big_t, big_mem = _medians([ours(data, tmp / "ours") for _ in range(rounds)])
        with tempfile.TemporaryDirectory(prefix="riskwatch-bench-ingest3-") as tmp:
            tmp = Path(tmp)
            data = tmp / "in"
            data.mkdir()
            make_ingestion_data(data, rows, 10 * files)
            many_t, many_mem = _medians([ours(data, tmp / "ours") for _ in range(rounds)])
        result += [
            Row(f"ingestion {2 * rows / 1e6:.0f}M rows / {files} files ({size2:.0f} MB) vs {rows / 1e6:.0f}M: time",
                big_t, ours_t, "s", "", None),
            Row(f"peak memory at {2 * rows / 1e6:.0f}M rows vs {rows / 1e6:.0f}M", big_mem, ours_mem, "MB",
                "within 10 % (flat)", big_mem <= 1.1 * ours_mem),
            Row(f"ingestion {rows / 1e6:.0f}M rows in {10 * files} files vs {files}: time", many_t, ours_t, "s", "",
                None),
            Row(f"peak memory with {10 * files} files vs {files}", many_mem, ours_mem, "MB", "within 10 % (flat)",
                many_mem <= 1.1 * ours_mem),
        ]
    return result


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The median time and the median peak memory of some runs."""
    return statistics.median(t for t, _ in runs), statistics.median(m for _, m in runs)


def _spread(runs: list[tuple[float, float]]) -> str:
    return " / ".join(f"{t:.2f}" for t, _ in runs)


def _field(out: str, key: str) -> float:
    return float(next(line.split()[1] for line in out.splitlines() if line.startswith(key + " ")))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--no-doubled", action="store_true", help="skip the doubled drop")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, whose medians are compared")
    args = parser.parse_args()
    print_table(ingestion(args.rows, args.files, not args.no_doubled, args.rounds))
