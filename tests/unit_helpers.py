"""Small shared helpers for the per-module unit tests (test twins).

Kept apart from conftest.py on purpose: these are plain functions, imported explicitly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Schema

REPO = Path(__file__).resolve().parent.parent
UDACITY = REPO.parent / "shared" / "data" / "udacity"

COLUMNS = ["corporation", "lastmonth_activity", "lastyear_activity", "number_of_employees", "exited"]
SCHEMA = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (),
                "exited")
ESTIMATOR = "sklearn.linear_model.LogisticRegression"
PARAMS = {"C": 1.0, "solver": "liblinear", "random_state": 0}


def write_rows(path: Path, rows: Iterable[Sequence], header: Sequence[str] = COLUMNS) -> Path:
    """Write a CSV with ``header`` and ``rows`` ("\\n" line endings); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def clients(n: int, seed: int, production: bool = False) -> pd.DataFrame:
    """``n`` synthetic clients with a real attrition signal (the package's own sample generator)."""
    from riskwatch.sample import PRACTICE, PRODUCTION, make_clients

    frame = make_clients(n, PRODUCTION if production else PRACTICE, np.random.default_rng(seed))
    frame["corporation"] = frame["corporation"].astype("string")
    return frame


def fit(frame: pd.DataFrame, schema: Schema = SCHEMA, params: dict | None = None):
    """The default pipeline (LogisticRegression, liblinear) fitted on ``frame``."""
    from riskwatch.model import train_model

    return train_model(frame, schema, ESTIMATOR, PARAMS if params is None else params)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


# ---- small CSV rows shared by the ingestion and tables tests
GOOD1 = [["aaaa", 10, 120, 3, 0], ["bbbb", 20, 240, 4, 1], ["cccc", 30, 360, 5, 0],
         ["dddd", 40, 480, 6, 1], ["eeee", 50, 600, 7, 0]]
# two rows repeat rows of GOOD1 exactly, one shares only the id (a different row)
GOOD2 = [["bbbb", 20, 240, 4, 1], ["eeee", 50, 600, 7, 0], ["aaaa", 11, 120, 3, 0], ["ffff", 60, 720, 8, 1]]
GOOD3 = [["gggg", 70, 840, 9, 1], ["cccc", 30, 360, 5, 0], ["hhhh", 80, 960, 10, 0]]


def as_rows(frame: pd.DataFrame) -> set[tuple]:
    return {tuple(r) for r in frame[COLUMNS].astype(str).itertuples(index=False)}


def rows_set(rows: list[list]) -> set[tuple]:
    return {tuple(str(v) for v in r) for r in rows}


def region_frame(n: int, seed: int) -> pd.DataFrame:
    """Attrition driven by a categorical column: 'north' leaves, 'south' stays (mostly)."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], n)
    p = np.where(region == "north", 0.85, np.where(region == "south", 0.1, 0.4))
    return pd.DataFrame({"corporation": [f"c{i:04d}" for i in range(n)],
                         "lastmonth_activity": rng.normal(100, 10, n),
                         "region": region,
                         "exited": (rng.random(n) < p).astype(int)})


def expected_retrain(data, score, rule) -> bool:
    """What decide_retrain must answer for two drift verdicts under a retrain_on rule."""
    yes = {"data": data is True, "score": score is True}
    return {"either": yes["data"] or yes["score"], "both": yes["data"] and yes["score"],
            "data": yes["data"], "score": yes["score"]}[rule]


def three_versions(root: Path):
    """A registry at ``root`` with v1 (test F1 0.61) and v2 (0.70) scored and v3 never scored;
    nothing deployed yet."""
    from riskwatch.registry import Registry

    registry = Registry(root)
    for seed in (41, 42, 43):
        data = clients(150, seed=seed)
        registry.register(fit(data), data, {"training_files": []})
    registry.write_metrics(1, {"f1": 0.61})
    registry.write_metrics(2, {"f1": 0.70})
    return registry


def flip_a_byte(path: Path) -> None:
    """Tamper with a file: one byte in its middle inverted."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
