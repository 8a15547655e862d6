"""Diagnostics of data and model: predictions, summary statistics, missing values, stage timings,
dependency versions and data drift — gathered into one JSON-safe dict per run."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from riskwatch.config import Schema
from riskwatch.drift.data import data_drift
from riskwatch.driftcheck import reference_of
from riskwatch.drift.policy import DriftPolicy
from riskwatch.ledger import Ledger
from riskwatch.metrics import predict_risk
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry
from riskwatch.scraps import to_plain
from riskwatch.tables import load_table

OFFLINE = "latest version unknown (offline)"


def summary_statistics(data: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Mean, median, std, min, quartiles and max of each numeric column."""
    out = {}
    for column in columns:
        values = pd.to_numeric(data[column], errors="coerce")
        stats = {"mean": values.mean(), "median": values.median(), "std": values.std(),
                 "min": values.min(), "q1": values.quantile(0.25), "q3": values.quantile(0.75),
                 "max": values.max(), "count": values.count()}
        out[column] = {k: (None if pd.isna(v) else float(v)) for k, v in stats.items()}
    return out


def missing_values(data: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Missing values per column, as a count and a percentage of the rows."""
    rows = max(len(data), 1)
    counts = data.isna().sum()
    return {str(c): {"count": int(counts[c]), "percent": round(100.0 * int(counts[c]) / rows, 3)}
            for c in data.columns}


def declared_dependencies(project: str = "riskwatch") -> list[tuple[str, str]]:
    """(name, specifier) for each runtime dependency the project declares."""
    out = []
    for requirement in importlib_metadata.requires(project) or []:
        if "extra ==" in requirement:
            continue
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement.split(";")[0])
        if match:
            out.append((match.group(1), match.group(2).strip() or "any"))
    return out


def default_index_url() -> str | None:
    """The package index pip uses: ``PIP_INDEX_URL`` if set, else pip's own default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    try:
        from pip._internal.models.index import PyPI  # pip's default, so we never hard-code a host
    except ImportError:
        return None
    return PyPI.simple_url


def latest_version(name: str, index_url: str, timeout: float) -> str | None:
    """Newest final release of ``name`` on a PEP 691 (JSON simple API) index; raises on network errors."""
    from packaging.version import InvalidVersion, Version

    url = f"{index_url.rstrip('/')}/{re.sub(r'[-_.]+', '-', name).lower()}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.loads(response.read())
    candidates = payload.get("versions") or []
    releases = []
    for text in candidates:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if not version.is_prerelease and not version.is_devrelease:
            releases.append(version)
    return str(max(releases)) if releases else None


def dependency_check(index_url: str | None = None, timeout: float = 3.0,
                     project: str = "riskwatch") -> list[dict[str, Any]]:
    """Installed, declared and latest version of every declared dependency.

    Never fails for the network: each lookup has ``timeout`` seconds, all of them together at most
    twice that, and an unreachable index gives "latest version unknown (offline)".
    """
    deps = declared_dependencies(project)
    index = index_url if index_url is not None else default_index_url()
    rows = []
    for name, spec in deps:
        try:
            installed = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            installed = None
        rows.append({"package": name, "installed": installed, "required": spec, "latest": None,
                     "note": ""})
    if not index:
        for row in rows:
            row["note"] = OFFLINE
        return rows
    pool = ThreadPoolExecutor(max_workers=8)
    futures = {pool.submit(latest_version, row["package"], index, timeout): row for row in rows}
    done, _ = wait(futures, timeout=2 * timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    for future, row in futures.items():
        if future in done and future.exception() is None and future.result():
            row["latest"] = future.result()
            row["note"] = "up to date" if row["latest"] == row["installed"] else "newer version available"
        else:
            row["note"] = OFFLINE
    return rows


def stage_timings(ledger_path: str | Path, run_id: str, stages: Sequence[str] = ("ingestion", "training"),
                  history: int = 20) -> dict[str, Any]:
    """This run's stage timings and the recent history of the named stages, from the ledger."""
    ledger = Ledger(ledger_path)
    return {
        "this_run": {row["stage"]: row["seconds"] for row in ledger.stages(run_id)},
        "history": {stage: list(reversed(ledger.stage_timings(stage, history))) for stage in stages},
    }


def run_diagnostics(finaldata_path: str | Path, test_data_path: str | Path, registry_path: str | Path,
                    ledger_path: str | Path, run_id: str, schema: Schema, drift_policy: dict[str, Any],
                    index_url: str | None = None, dependency_timeout: float = 3.0,
                    diagnostics_path: str | Path | None = None) -> dict[str, Any]:
    """Everything the diagnostics stage reports, for the model in production now; also written to
    ``diagnostics_path`` when given."""
    data = pd.read_csv(finaldata_path, dtype={schema.id_column: "string"})
    registry = Registry(Path(registry_path))
    version = registry.production_version()
    result: dict[str, Any] = {
        "run_id": run_id, "model_version": version, "rows": len(data),
        "summary_statistics": summary_statistics(data, schema.numeric_features),
        "missing_values": missing_values(data),
        "timings": stage_timings(ledger_path, run_id) if Path(ledger_path).exists() else None,
        "quarantine": Ledger(ledger_path).quarantine([run_id]) if Path(ledger_path).exists() else [],
        "dependencies": dependency_check(index_url, dependency_timeout),
    }
    if version is not None:
        test = load_table(test_data_path, schema)
        predictions = predict_risk(registry.load_model(version), test, schema)
        result["predictions"] = predictions.to_dict(orient="records")
        reference = reference_of(registry, version, schema, drift_policy)
        report = data_drift(reference, data, schema.numeric_features, schema.categorical_features,
                            DriftPolicy.from_mapping(drift_policy))
        result["drift"] = report.to_dict()
    else:
        result["predictions"], result["drift"] = [], None
    result = to_plain(result)
    if diagnostics_path is not None:
        atomic_write_text(diagnostics_path, json.dumps(result, indent=1))
    return result
