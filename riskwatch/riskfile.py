"""The risk list as a file: any CSV of clients scored into one (``runner.py score``), and the latest
list a cycle wrote read back, counted and paged for the API (``GET /risk``), the dashboard and ``status``.

The list itself comes from :func:`riskwatch.risk.risk_list`; a file to score is checked by
:mod:`riskwatch.records` exactly as the API checks an upload. No web framework is imported here.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Config, Schema
from riskwatch.layout import LATEST_RISK
from riskwatch.records import RecordError, read_csv_bytes, validate_frame
from riskwatch.registry import Registry, RegistryError
from riskwatch.risk import RISK_COLUMNS, band_counts, risk_list

NO_RISK_LIST = "no risk list yet: run a cycle with new client data"
MAX_PER_PAGE = 1000


class ScoreError(ValueError):
    """A file that cannot be scored, or no model to score it with; the message says which and why."""


class RiskListError(ValueError):
    """The latest risk list exists but cannot be read as one."""


class UnknownBand(ValueError):
    """A band filter naming no configured band; the message lists the known ones."""


def score_csv(cfg: Config, path: str | Path) -> pd.DataFrame:
    """The risk list of every client in the CSV at ``path``, scored by the deployed model (hash-checked)."""
    path = Path(path)
    registry = Registry(cfg.registry_path)
    version = registry.production_version()
    if version is None:
        raise ScoreError("no model is deployed yet: run a cycle first (python runner.py run)")
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise ScoreError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ScoreError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise ScoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        frame = read_csv_bytes(body) if body.strip() else pd.DataFrame()
        if frame.empty:
            raise RecordError("it holds no client records")
        clients = validate_frame(frame, cfg.schema)
    except RecordError as exc:
        raise ScoreError(f"{path.name} cannot be scored: {exc}") from None
    try:
        model = registry.load_model(version)
    except (RegistryError, OSError) as exc:
        raise ScoreError(f"the deployed model v{version} cannot be loaded: {exc}") from None
    return risk_list(model, clients, cfg.schema, version, cfg.risk)


def check_band(band: str | None, bands: Sequence[str]) -> str | None:
    """``band`` if it is one of ``bands``, None for no filter (None or ""); UnknownBand otherwise."""
    if not band:
        return None
    if band not in bands:
        raise UnknownBand(f"unknown band {band!r}: the bands are {', '.join(reversed(list(bands)))}")
    return band


def counts_text(counts: Mapping[str, int]) -> str:
    """``high 120 · medium 300 · low 830``"""
    return " · ".join(f"{band} {n:,}" for band, n in counts.items())


def latest_risk_path(cfg: Config) -> Path:
    """Where each cycle with new data leaves its risk list, beside the deployed model."""
    return cfg.prod_deployment_path / LATEST_RISK


@dataclass(frozen=True)
class RiskList:
    """A risk list as written (highest risk first) with the configured bands, lowest first."""

    table: pd.DataFrame
    id_column: str
    bands: tuple[str, ...]
    updated_at: str
    rows_by_band: Mapping[str, np.ndarray]

    @property
    def total(self) -> int:
        return len(self.table)

    @property
    def model_version(self) -> int | None:
        return int(self.table["model_version"].iloc[0]) if self.total else None

    @property
    def counts(self) -> dict[str, int]:
        return band_counts(self.table, self.bands)

    def counts_text(self) -> str:
        return counts_text(self.counts)

    def clients(self, band: str | None = None) -> pd.DataFrame:
        """The list, or the clients of one band, highest risk first."""
        band = check_band(band, self.bands)
        return self.table if band is None else self.table.iloc[self.rows_by_band[band]]

    def top_text(self, n: int) -> str:
        """``acme 97%, beta 95%, …``: the ``n`` clients most at risk."""
        top = self.table.head(n)
        return ", ".join(f"{i} {p:.0%}" for i, p in zip(top[self.id_column], top["probability"]))

    def page(self, page: int = 1, per_page: int = 50, band: str | None = None) -> dict[str, Any]:
        """One page of the list (``page`` from 1) as plain JSON values, with the counts per band."""
        chosen = self.clients(band)
        start = (page - 1) * per_page
        rows = chosen.iloc[start:start + per_page]
        return {
            "model_version": self.model_version, "updated_at": self.updated_at, "total": self.total,
            "counts": self.counts, "band": band or None, "matching": len(chosen),
            "page": page, "per_page": per_page, "pages": math.ceil(len(chosen) / per_page),
            "clients": [{"id": i, "probability": float(p), "predicted": int(c), "risk_band": b}
                        for i, p, c, b in zip(rows[self.id_column].tolist(), rows["probability"].tolist(),
                                              rows["predicted"].tolist(), rows["risk_band"].tolist())],
        }


def read_risk_list(path: Path, schema: Schema, bands: Sequence[str]) -> RiskList | None:
    """The risk list at ``path``; None when there is none; RiskListError when it is not one."""
    try:
        modified = path.stat().st_mtime
        # keep_default_na=False: a client called "NA" or "null" keeps its name.
        table = pd.read_csv(path, dtype={schema.id_column: "string", "risk_band": "string"},
                            keep_default_na=False)
    except FileNotFoundError:
        return None
    except Exception as exc:  # any parse failure of the file is the same problem for a reader
        raise RiskListError(f"the latest risk list {path} cannot be read: {exc}") from None
    missing = [c for c in (schema.id_column, *RISK_COLUMNS) if c not in table.columns]
    if missing:
        raise RiskListError(f"the latest risk list {path} lacks column(s) {', '.join(missing)}")
    if len(table) and not pd.api.types.is_numeric_dtype(table["probability"]):
        raise RiskListError(f"the latest risk list {path} has probabilities that are not numbers")
    band = table["risk_band"].to_numpy()
    return RiskList(table, schema.id_column, tuple(bands),
                    datetime.fromtimestamp(modified, timezone.utc).isoformat(timespec="seconds"),
                    {b: np.flatnonzero(band == b) for b in bands})


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """(mtime, size, inode) of ``path``, None if absent: a replaced or rewritten file gets a new one."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class LatestRiskList:
    """The latest risk list of a project, read again only when the file changes (one stat per call)."""

    def __init__(self, cfg: Config):
        self.path, self.schema, self.bands = latest_risk_path(cfg), cfg.schema, tuple(cfg.risk["bands"])
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._current: RiskList | None = None

    def get(self) -> RiskList | None:
        signature = file_signature(self.path)
        if signature is None:
            return None
        if signature != self._signature:
            with self._lock:
                if signature != self._signature:
                    # A failed read raises and caches nothing; the next call tries again.
                    self._current = read_risk_list(self.path, self.schema, self.bands)
                    self._signature = signature
        return self._current
