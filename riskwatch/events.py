"""What happens in a cycle, as plain records. Stages and conditions return events; the
:class:`~riskwatch.recorder.Recorder` is the one place that turns them into ledger rows, alerts,
log lines, registry status and ``run.json``. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskwatch.decisions import Decision


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    new_files: tuple[str, ...]
    production_version: int | None
    hashes: tuple[str, ...] = ()        # of the files this cycle must finish (new and redone)
    redo_of: str | None = None          # the unfinished cycle this one redoes


@dataclass(frozen=True)
class StageStarted:
    stage: str
    purpose: str
    beside: tuple[str, ...] = ()        # the stages running side by side with this one


@dataclass(frozen=True)
class StageEnded:
    stage: str
    notebook: str
    started_at: str
    seconds: float
    error: str | None = None            # None: the stage succeeded


@dataclass(frozen=True)
class Ingested:
    summary: dict[str, Any]             # new files, quarantined files, row counts


@dataclass(frozen=True)
class DriftChecked:
    version: int | None
    data: dict[str, Any] | None
    score: dict[str, Any] | None
    estimate: dict[str, Any] | None = None


@dataclass(frozen=True)
class DriftDetected:
    version: int | None
    text: str
    retrain: bool
    verdict: str | None


@dataclass(frozen=True)
class Decided:
    name: str
    decision: Decision


@dataclass(frozen=True)
class Trained:
    version: int
    rows: int | None = None


@dataclass(frozen=True)
class Scored:
    version: int | None
    role: str                           # challenger | champion | production
    dataset: str                        # test | batch
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Deployed:
    version: int
    previous_version: int | None
    metrics: dict[str, Any]
    reason: str
    run_id: str | None = None           # set when recovery records an interrupted run's deployment


@dataclass(frozen=True)
class Rejected:
    version: int
    production_version: int | None
    f1: float | None
    champion_f1: float | None
    reason: str


@dataclass(frozen=True)
class RolledBack:
    version: int
    previous_version: int | None
    f1: float | None
    reason: str


@dataclass(frozen=True)
class Abandoned:
    """A version left a candidate by a run that ended before deciding on it."""
    version: int
    reason: str


@dataclass(frozen=True)
class OutcomesArrived:
    realised: list[dict[str, Any]]      # per earlier scoring run: its model version and realised metrics
    n_unmatched: int


@dataclass(frozen=True)
class RiskListed:
    version: int
    n_scored: int
    band_counts: dict[str, int]
    top: list[dict[str, Any]]
    path: str


@dataclass(frozen=True)
class ReportExported:
    html: str | None
    pdf: str | None
    message: str


@dataclass(frozen=True)
class Failed:
    stage: str
    reason: str
    notebook: str
