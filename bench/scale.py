"""Ingestion, drift and scoring at scale, each against the obvious way in the same run.

- ingestion: see bench/ingestion.py (this module keeps its data generator).
- drift: 1,000,000 reference × 1,000,000 current rows, 10 numeric + 3 categorical columns.
  Baseline: straightforward scipy (Wasserstein / std, Jensen–Shannon). Verdicts must be identical.
- scoring: 1,000,000 rows through the deployed pipeline's scorer vs ``predict_proba``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, Row, python_measured  # noqa: E402


def make_ingestion_data(folder: Path, rows: int, files: int) -> int:
    """``files`` CSVs with ``rows`` rows in all; about 10% of rows repeat rows of other files."""
    code = f"""
import numpy as np, pandas as pd, sys
sys.path.insert(0, {str(REPO)!r})
from riskwatch.sample import PRACTICE, make_clients
rng = np.random.default_rng(7)
per = {rows} // {files}
distinct = make_clients(int(per * 0.9), PRACTICE, rng)
for i in range({files}):
    fresh = make_clients(int(per * 0.9), PRACTICE, rng)
    repeat = distinct.sample(per - len(fresh), random_state=i)
    pd.concat([fresh, repeat]).to_csv({str(folder)!r} + f"/part{{i:02d}}.csv", index=False, lineterminator="\\n")
"""
    python_measured(code)
    return sum(p.stat().st_size for p in folder.glob("*.csv"))


DRIFT_DATA = """
import numpy as np, pandas as pd
def frame(seed, shift):
    rng = np.random.default_rng(seed)
    n = 1_000_000
    cols = {f"num{i}": rng.normal(shift * (i % 3), 1.0, n) for i in range(10)}
    for i in range(3):
        p = np.array([0.5, 0.3, 0.2]) if not shift or i else np.array([0.3, 0.3, 0.4])
        cols[f"cat{i}"] = pd.Categorical(rng.choice(["a", "b", "c"], n, p=p))
    return pd.DataFrame(cols)
ref, cur = frame(1, 0.0), frame(2, 0.15)
numeric = [f"num{i}" for i in range(10)]; categorical = [f"cat{i}" for i in range(3)]
import json, time
"""


def drift() -> list[Row]:
    ours_t, ours_mem, out = python_measured(f"""
import sys; sys.path.insert(0, {str(REPO)!r})
{DRIFT_DATA}
from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
start = time.perf_counter()
report = data_drift(ref, cur, numeric, categorical, DriftPolicy())
print("SECONDS", time.perf_counter() - start)
print("VERDICTS", json.dumps({{f.feature: f.drifted for f in report.features}}))
""")
    base_t, base_mem, base_out = python_measured(f"""
{DRIFT_DATA}
from scipy.stats import wasserstein_distance
from scipy.spatial.distance import jensenshannon
start = time.perf_counter()
verdicts = {{}}
for c in numeric:
    verdicts[c] = bool(wasserstein_distance(ref[c], cur[c]) / np.std(ref[c]) >= 0.1)
for c in categorical:
    cats = sorted(set(ref[c]) | set(cur[c]))
    p = ref[c].value_counts(normalize=True).reindex(cats, fill_value=0)
    q = cur[c].value_counts(normalize=True).reindex(cats, fill_value=0)
    verdicts[c] = bool(jensenshannon(p, q, base=2) >= 0.1)
print("SECONDS", time.perf_counter() - start)
print("VERDICTS", json.dumps(verdicts))
""")
    ours_s = _field(out, "SECONDS")
    base_s = _field(base_out, "SECONDS")
    same = json.loads(_raw(out, "VERDICTS")) == json.loads(_raw(base_out, "VERDICTS"))
    return [Row(f"drift 1M x 1M rows, 13 columns, identical verdicts={same}", ours_s, base_s, "s", "≤ 2 s",
                ours_s <= 2),
            Row("drift whole-process peak memory (data included)", ours_mem, base_mem, "MB", "≤ 400 MB",
                ours_mem <= 400)]


def scoring(rows: int = 1_000_000) -> list[Row]:
    _, _, out = python_measured(f"""
import sys, time; sys.path.insert(0, {str(REPO)!r})
import numpy as np
from riskwatch.config import Schema
from riskwatch.tables import load_table
from riskwatch.sample import PRODUCTION, make_clients
from riskwatch.serving import compile_scorer
from riskwatch.model import train_model
schema = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (), "exited")
model = train_model(load_table({str(REPO / 'data' / 'practicedata')!r}, schema), schema,
                    "sklearn.linear_model.LogisticRegression", {{"C": 1.0, "solver": "liblinear", "random_state": 0}})
data = make_clients({rows}, PRODUCTION, np.random.default_rng(3))
scorer, _ = compile_scorer(model, schema)
start = time.perf_counter(); ours = scorer(data); t_ours = time.perf_counter() - start
start = time.perf_counter(); base = model.predict_proba(data[list(schema.features)])[:, 1]; t_base = time.perf_counter() - start
print("OURS", t_ours); print("BASE", t_base); print("MAXDIFF", float(np.abs(ours - base).max()))
""")
    ours, base = _field(out, "OURS"), _field(out, "BASE")
    return [Row(f"scoring {rows / 1e6:.0f}M rows after loading (max diff {_field(out, 'MAXDIFF'):.0e})",
                ours, base, "s", "≤ 1 s", ours <= 1)]


def _raw(out: str, key: str) -> str:
    return next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith(key + " "))


def _field(out: str, key: str) -> float:
    return float(_raw(out, key))


PROFILE_DATA = """
import numpy as np, pandas as pd
NUMERIC, CATEGORICAL = ["normal", "skewed", "counts", "tail"], ["sector"]
def part(seed, n, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"normal": rng.normal(shift, 1, n), "skewed": rng.gamma(2, 1, n) + shift,
                         "counts": rng.poisson(3, n), "tail": rng.lognormal(0, 1, n),
                         "sector": rng.choice(list("abcde"), n, p=[0.4, 0.25, 0.15, 0.12, 0.08])})
"""


def profile_check(rows: int = 10_000_000, parts: int = 10) -> list[Row]:
    """The drift check of a 1,000-row batch against a 10M-row reference's profile (built by parts
    and summed, as a distributed engine would), against the same check on the full reference."""
    _, mem, out = python_measured(f"""
import sys, time, statistics; sys.path.insert(0, {str(REPO)!r})
{PROFILE_DATA}
from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import numeric_edges, summarize, with_noise_table
from riskwatch.drift.sorted_arrays import finite_sorted
first = part(0, 1_000_000)  # first pass: bin edges from a sample
edges = {{c: numeric_edges(finite_sorted(first[c], c)) for c in NUMERIC}}
start = time.perf_counter()
profile = None
frames = []
for i in range({parts}):
    frame = part(i + 1, {rows // parts})
    frames.append(frame)
    summary = summarize(frame, NUMERIC, CATEGORICAL, edges)
    profile = summary if profile is None else profile.merge(summary)
profile = with_noise_table(profile, DriftPolicy())
print("BUILD", time.perf_counter() - start)
print("ROWS", profile.n_rows)
batches = [part(100 + i, 1000, shift=0.0 if i % 2 else 0.5) for i in range(21)]
times, verdicts = [], []
for batch in batches:
    start = time.perf_counter()
    verdicts.append(data_drift(profile, batch, NUMERIC, CATEGORICAL).drifted)
    times.append(time.perf_counter() - start)
print("CHECK", statistics.median(times[1:]))
reference = pd.concat(frames, ignore_index=True)
del frames
start = time.perf_counter()
full = [data_drift(reference, batch, NUMERIC, CATEGORICAL).drifted for batch in batches[:3]]
print("FULL", (time.perf_counter() - start) / 3)
print("AGREE", sum(a == b for a, b in zip(verdicts[:3], full)), 3)
""", timeout=1800)
    figures = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split()}
    check_ms, full_ms = 1000 * float(figures["CHECK"][0]), 1000 * float(figures["FULL"][0])
    agree = f"{figures['AGREE'][0]}/{figures['AGREE'][1]}"
    return [
        Row(f"drift check, 1k batch vs {rows / 1e6:.0f}M-row profile (verdicts agree {agree})", check_ms, full_ms,
            "ms", "≤ 50 ms", check_ms <= 50),
        Row(f"reference profile of {rows / 1e6:.0f}M rows, {parts} parts summed", float(figures["BUILD"][0]), None,
            "s", ""),
    ]


def profile_check_large(rows: int = 10_000_000, batch_rows: int = 1_000_000, parts: int = 10) -> list[Row]:
    """The drift check of a 1M-row batch against a reference's stored profile: the time, and the
    check's whole-process memory against a 1M-row and a 10M-row reference (it must not grow)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-profile-") as tmp:
        python_measured(f"""
import sys, json; sys.path.insert(0, {str(REPO)!r})
{PROFILE_DATA}
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import numeric_edges, summarize, with_noise_table
from riskwatch.drift.sorted_arrays import finite_sorted
first = part(0, 1_000_000)
edges = {{c: numeric_edges(finite_sorted(first[c], c)) for c in NUMERIC}}
for n in (1_000_000, {rows}):
    profile = None
    for i in range({parts}):
        summary = summarize(part(i + 1, n // {parts}), NUMERIC, CATEGORICAL, edges)
        profile = summary if profile is None else profile.merge(summary)
    profile = with_noise_table(profile, DriftPolicy())
    open({tmp!r} + f"/profile-{{n}}.json", "w").write(json.dumps(profile.to_dict()))
""", timeout=1800)
        figures = {}
        for n in (1_000_000, rows):
            _, mem, out = python_measured(f"""
import sys, json, time; sys.path.insert(0, {str(REPO)!r})
{PROFILE_DATA}
from riskwatch.drift.data import data_drift
from riskwatch.drift.profile import ReferenceProfile
profile = ReferenceProfile.from_dict(json.load(open({tmp!r} + "/profile-{n}.json")))
batch = part(999, {batch_rows}, shift=0.05)
times = []
for _ in range(3):
    start = time.perf_counter()
    report = data_drift(profile, batch, NUMERIC, CATEGORICAL)
    times.append(time.perf_counter() - start)
print("CHECK", min(times), "ROWS", profile.n_rows, "DRIFTED", report.drifted)
""")
            figures[n] = (float(out.split("CHECK ")[1].split()[0]), mem)
    check_s, big_mem = figures[rows]
    small_mem = figures[1_000_000][1]
    return [
        Row(f"drift check, {batch_rows / 1e6:.0f}M-row batch vs {rows / 1e6:.0f}M-row profile", check_s,
            figures[1_000_000][0], "s", "≤ 1 s (baseline: vs a 1M-row profile)", check_s <= 1),
        Row(f"drift check memory, {rows / 1e6:.0f}M- vs 1M-row reference", big_mem, small_mem, "MB",
            "within 10 % (independent of the reference)", big_mem <= 1.1 * small_mem),
    ]
