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
    from riskwatch.training import train_model

    return train_model(frame, schema, ESTIMATOR, PARAMS if params is None else params)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path
