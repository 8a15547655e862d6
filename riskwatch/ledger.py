"""The run ledger: an append-only SQLite database of runs, stages, decisions, scores,
deployments and quarantine (files refused, rows set aside). Reports and the dashboard read trends from it.

Append-only is enforced by the database itself (triggers refuse UPDATE and DELETE), and WAL
journaling keeps it readable while a run writes and after a run is killed.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Iterable

from riskwatch.clock import now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, mode TEXT, config TEXT, new_files TEXT);
CREATE TABLE IF NOT EXISTS run_results (
    run_id TEXT NOT NULL, finished_at TEXT NOT NULL, outcome TEXT NOT NULL, exit_code INTEGER,
    summary TEXT, production_version INTEGER);
CREATE TABLE IF NOT EXISTS stages (
    run_id TEXT NOT NULL, stage TEXT NOT NULL, started_at TEXT, seconds REAL, outcome TEXT NOT NULL,
    notebook TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS decisions (
    run_id TEXT NOT NULL, at TEXT NOT NULL, name TEXT NOT NULL, value TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT, at TEXT NOT NULL, version INTEGER, role TEXT NOT NULL, dataset TEXT, f1 REAL,
    metrics TEXT);
CREATE TABLE IF NOT EXISTS deployments (
    run_id TEXT, at TEXT NOT NULL, action TEXT NOT NULL, version INTEGER, previous_version INTEGER,
    f1 REAL, reason TEXT);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id TEXT NOT NULL, at TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT, scope TEXT NOT NULL,
    n_rows INTEGER, reason TEXT, path TEXT);
"""
# Version 2 added the quarantine table. Opening an older ledger runs the (idempotent) schema again,
# which adds what is missing and keeps every row: old ledgers stay readable.
SCHEMA_VERSION = 2
TABLES = ("runs", "run_results", "stages", "decisions", "scores", "deployments", "quarantine")


class Ledger:
    """Append-only record of what riskwatch did. Every method opens its own short connection,
    so a ledger object can be kept around without holding the database open."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return  # already set up: readers (API, dashboard, status) write nothing
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            for table in TABLES:
                for verb in ("UPDATE", "DELETE"):
                    db.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")
            # INSERT OR REPLACE deletes without firing DELETE triggers: refuse a second run_id.
            db.execute("CREATE TRIGGER IF NOT EXISTS runs_no_replace BEFORE INSERT ON runs "
                       "WHEN EXISTS (SELECT 1 FROM runs WHERE run_id = NEW.run_id) "
                       "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def _insert(self, table: str, **values: Any) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with closing(self._connect()) as db, db:
            db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))

    def _select(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            return [dict(row) for row in db.execute(sql, tuple(params))]

    # ---- writing -------------------------------------------------------------------------
    def start_run(self, run_id: str, mode: str, config: str, new_files: list[str]) -> None:
        self._insert("runs", run_id=run_id, started_at=now_iso(), mode=mode, config=config,
                     new_files=json.dumps(new_files))

    def finish_run(self, run_id: str, outcome: str, exit_code: int, summary: str,
                   production_version: int | None) -> None:
        self._insert("run_results", run_id=run_id, finished_at=now_iso(), outcome=outcome,
                     exit_code=exit_code, summary=summary, production_version=production_version)

    def record_stage(self, run_id: str, stage: str, started_at: str, seconds: float, outcome: str,
                     notebook: str | None, error: str | None = None) -> None:
        self._insert("stages", run_id=run_id, stage=stage, started_at=started_at, seconds=seconds,
                     outcome=outcome, notebook=notebook, error=error)

    def record_decision(self, run_id: str, name: str, value: Any, reason: str) -> None:
        self._insert("decisions", run_id=run_id, at=now_iso(), name=name,
                     value=json.dumps(value, default=str), reason=reason)

    def record_score(self, run_id: str | None, version: int | None, role: str, dataset: str,
                     metrics: dict[str, Any]) -> None:
        self._insert("scores", run_id=run_id, at=now_iso(), version=version, role=role, dataset=dataset,
                     f1=metrics.get("f1"), metrics=json.dumps(metrics, default=str))

    def record_deployment(self, run_id: str | None, action: str, version: int | None,
                          previous_version: int | None, f1: float | None, reason: str) -> None:
        self._insert("deployments", run_id=run_id, at=now_iso(), action=action, version=version,
                     previous_version=previous_version, f1=f1, reason=reason)

    def record_quarantine(self, run_id: str, name: str, scope: str, rows: int | None, reason: str,
                          path: str | None, sha256: str | None = None) -> None:
        """A file refused (``scope`` "file") or ``rows`` bad rows of it set aside (``scope`` "rows")."""
        self._insert("quarantine", run_id=run_id, at=now_iso(), name=name, sha256=sha256, scope=scope,
                     n_rows=rows, reason=reason, path=path)

    def restore(self, table: str, **values: Any) -> None:
        """Append a row as it was, its times included: for rebuilding a damaged ledger."""
        if table not in TABLES:
            raise ValueError(f"no ledger table {table!r}")
        self._insert(table, **values)

    # ---- reading -------------------------------------------------------------------------
    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Latest runs first, each with its result (outcome None while running or if killed)."""
        return self._select(
            "SELECT r.run_id, r.started_at, r.mode, r.new_files, x.finished_at, x.outcome, x.exit_code, "
            "x.summary, x.production_version FROM runs r LEFT JOIN run_results x USING (run_id) "
            "ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?", (limit,))

    def last_run(self) -> dict[str, Any] | None:
        runs = self.runs(1)
        return runs[0] if runs else None

    def stages(self, run_id: str) -> list[dict[str, Any]]:
        return self._select("SELECT * FROM stages WHERE run_id = ? ORDER BY rowid", (run_id,))

    def decisions(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._select("SELECT * FROM decisions WHERE run_id = ? ORDER BY rowid", (run_id,))
        for row in rows:
            row["value"] = json.loads(row["value"]) if row["value"] is not None else None
        return rows

    def quarantine(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """What the runs ``run_ids`` put in the quarantine folder, in the order it was recorded."""
        run_ids = list(run_ids)
        marks = ", ".join("?" for _ in run_ids)
        return self._select(f"SELECT * FROM quarantine WHERE run_id IN ({marks}) ORDER BY rowid", run_ids)

    def deployments(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._select("SELECT * FROM deployments ORDER BY rowid DESC LIMIT ?", (limit,))

    def scores(self, roles: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Recorded scores, oldest first, optionally only for some roles."""
        if roles is None:
            return self._select("SELECT * FROM scores ORDER BY rowid")
        roles = list(roles)
        marks = ", ".join("?" for _ in roles)
        return self._select(f"SELECT * FROM scores WHERE role IN ({marks}) ORDER BY rowid", roles)

    def production_scores(self, mode: str, version: int) -> list[float]:
        """The F1 history the score-drift rules compare against, oldest first: ``version``'s test
        score when it was deployed and its score on each new batch while in production, counting
        only scores recorded by runs of ``mode`` (joined on ``run_id``), so practice never mixes
        into production and an earlier version's scores never count for the deployed one. Scores
        written outside a run (the in-process helper; a rollback writes none) carry no mode and do
        not count."""
        rows = self._select(
            "SELECT s.f1 FROM scores s JOIN runs r ON r.run_id = s.run_id WHERE s.role = 'production' "
            "AND s.dataset != 'estimate' AND s.version = ? AND r.mode = ? AND s.f1 IS NOT NULL ORDER BY s.rowid",
            (version, mode))
        return [row["f1"] for row in rows]

    def estimates_and_outcomes(self, limit: int = 20) -> list[dict[str, Any]]:
        """Per scoring run, newest first: the F1 estimated without labels when its clients were
        scored, and the realised F1 once their outcomes arrived (None until then)."""
        estimates = self._select("SELECT run_id, at, version, f1, metrics FROM scores WHERE dataset = 'estimate' "
                                 "ORDER BY rowid DESC LIMIT ?", (limit,))
        realised: dict[str, dict[str, Any]] = {}
        for row in self._select("SELECT metrics FROM scores WHERE dataset = 'realised' ORDER BY rowid"):
            metrics = json.loads(row["metrics"])
            realised[metrics.get("scored_in_run")] = metrics
        history = []
        for row in estimates:
            metrics = json.loads(row["metrics"])
            outcome = realised.get(row["run_id"])
            history.append({"run_id": row["run_id"], "at": row["at"], "version": row["version"],
                            "estimated_f1": row["f1"], "interval": (metrics.get("intervals") or {}).get("f1"),
                            "n": metrics.get("n"), "realised_f1": outcome.get("f1") if outcome else None,
                            "n_realised": outcome.get("n") if outcome else None})
        return history

    def stage_timings(self, stage: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._select("SELECT run_id, started_at, seconds, outcome FROM stages WHERE stage = ? "
                            "ORDER BY rowid DESC LIMIT ?", (stage, limit))

    def latest_estimate(self) -> dict[str, Any] | None:
        """The newest estimate, and the newest one whose outcomes have arrived (``last_realised``)."""
        history = self.estimates_and_outcomes(limit=50)
        if not history:
            return None
        return {**history[0], "last_realised": next((h for h in history if h["realised_f1"] is not None), None)}
