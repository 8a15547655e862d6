"""Deterministic sample client data with the baseline's schema and a known attrition rule.

The rule (``attrition_probability``) is what the data means: clients whose activity last month
fell below their usual monthly level, and small clients, leave more often. The production batch
("sourcedata") lives in a grown market — activity and headcount are larger and the activity level
at which clients leave has moved — so a model trained on practice data is both out of range and
wrong there, and a cycle has real drift to detect. Test data follows the production regime: that
is the world a deployed model is judged in.

``python -m riskwatch.sample DEST`` rewrites the bundled files byte for byte for the same seed.
"""

from __future__ import annotations

import argparse
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["corporation", "lastmonth_activity", "lastyear_activity", "number_of_employees", "exited"]


@dataclass(frozen=True)
class Regime:
    """One market state: feature scales and where attrition happens."""

    activity_scale: float      # median monthly activity
    employees_scale: float     # median headcount
    leave_activity: float      # monthly activity below which clients tend to leave
    leave_employees: float     # headcount below which clients tend to leave


PRACTICE = Regime(activity_scale=150.0, employees_scale=25.0, leave_activity=110.0, leave_employees=15.0)
PRODUCTION = Regime(activity_scale=240.0, employees_scale=40.0, leave_activity=190.0, leave_employees=26.0)


def attrition_probability(lastmonth: np.ndarray, employees: np.ndarray, regime: Regime) -> np.ndarray:
    """P(exited=1): logistic in log-activity and log-headcount relative to the regime's thresholds."""
    z = -2.2 * np.log(lastmonth / regime.leave_activity) - 1.2 * np.log(employees / regime.leave_employees) - 0.4
    return 1.0 / (1.0 + np.exp(-z))


def make_clients(n: int, regime: Regime, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` clients drawn from ``regime``, with ids like the baseline's (four lowercase letters)."""
    letters = np.array(list(string.ascii_lowercase))
    ids = ["".join(row) for row in rng.choice(letters, size=(n, 4))]
    # Ids other tools read as "missing" (pandas: "null", "nan") get an x in front instead.
    ids = [f"x{i[1:]}" if i in ("null", "nan") else i for i in ids]
    # Yearly activity is twelve months of a client's usual level, not twelve times last month:
    # the gap between the two is the signal.
    usual = regime.activity_scale * rng.lognormal(0.0, 0.6, n)
    lastmonth = np.maximum(1.0, usual * rng.lognormal(0.0, 0.45, n))
    lastyear = 12.0 * usual * rng.lognormal(0.0, 0.1, n)
    employees = np.maximum(1.0, regime.employees_scale * rng.lognormal(0.0, 0.8, n))
    exited = rng.random(n) < attrition_probability(lastmonth, employees, regime)
    return pd.DataFrame({
        "corporation": ids,
        "lastmonth_activity": np.rint(lastmonth).astype(np.int64),
        "lastyear_activity": np.rint(lastyear).astype(np.int64),
        "number_of_employees": np.rint(employees).astype(np.int64),
        "exited": exited.astype(np.int64),
    }, columns=COLUMNS)


def write_sample_data(dest: str | Path, seed: int = 20261124, rows_per_file: int = 2500) -> list[Path]:
    """Write practicedata/ (2 files), sourcedata/ (2 files) and testdata/ under ``dest``."""
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    plan = [
        ("practicedata/dataset1.csv", PRACTICE, rows_per_file),
        ("practicedata/dataset2.csv", PRACTICE, rows_per_file),
        ("sourcedata/dataset3.csv", PRODUCTION, rows_per_file),
        ("sourcedata/dataset4.csv", PRODUCTION, rows_per_file),
        ("testdata/testdata.csv", PRODUCTION, rows_per_file // 2),
    ]
    written = []
    for relative, regime, n in plan:
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = make_clients(n, regime, rng)
        # "\n" line endings on every platform, so the bytes (and their hashes) are reproducible.
        frame.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the bundled sample data.")
    parser.add_argument("dest", nargs="?", default="data", help="folder to write into (default: data)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--rows", type=int, default=2500, help="rows per data file")
    args = parser.parse_args(argv)
    for path in write_sample_data(args.dest, args.seed, args.rows):
        print(path)


if __name__ == "__main__":
    main()
