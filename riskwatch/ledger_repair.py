"""A damaged ledger is set aside and rebuilt from what the run folders and the registry hold.

The ledger is a record, not the source of truth: every run leaves ``run.json`` in its folder
(stages, decisions, outcome, the versions before and after), and the registry keeps every version
with its scores and status and the production pointer. When SQLite finds the ledger damaged
(``PRAGMA quick_check``, or an error opening it), :func:`ensure_healthy` moves it aside with a
timestamp — nothing is deleted — and writes a new one from those sources. Rows keep their original
times where the sources have them. What cannot be recovered this way (estimates recorded by the
risk stage, quarantine rows, rollbacks before the last) stays in the damaged copy.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.clock import stamp
from riskwatch.ledger import Ledger
from riskwatch.registry import Registry


def damage(path: Path) -> str | None:
    """None when the ledger is missing or sound; else what SQLite says is wrong with it."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            found = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if found == ["ok"] else "; ".join(found[:3])


def move_aside(path: Path) -> Path:
    """Rename the ledger (and its WAL files) to ``ledger.sqlite.damaged-<time>``."""
    target = path.with_name(f"{path.name}.damaged-{stamp()}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target


def rebuild(ledger: Ledger, registry: Registry, runs_path: Path) -> int:
    """Fill an empty ledger from the run folders (oldest first) and the registry; returns how many
    runs were recovered."""
    runs = sorted(p for p in runs_path.iterdir() if (p / layout.RUN_RECORD).is_file()) if runs_path.is_dir() else []
    recovered = 0
    for folder in runs:
        try:
            record = json.loads((folder / layout.RUN_RECORD).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        _restore_run(ledger, registry, record)
        recovered += 1
    pointer = registry.production()
    if pointer and pointer.get("action") == "rollback":  # rollbacks leave no run folder: the last one is known
        ledger.restore("deployments", run_id=None, at=pointer.get("since"), action="rollback",
                       version=pointer["version"], previous_version=pointer.get("previous_version"),
                       f1=(registry.metrics(pointer["version"]) or {}).get("f1"),
                       reason="rollback, recovered from the production pointer")
    return recovered


def _restore_run(ledger: Ledger, registry: Registry, record: dict[str, Any]) -> None:
    run_id, started = record["run_id"], record.get("started_at")
    finished = record.get("finished_at") or started
    ledger.restore("runs", run_id=run_id, started_at=started, mode=record.get("mode"), config=record.get("config"),
                   new_files=json.dumps(record.get("new_files") or []))
    for stage in record.get("stages") or []:
        ledger.restore("stages", run_id=run_id, stage=stage["name"], started_at=started,
                       seconds=stage.get("seconds"), outcome=stage.get("outcome"), notebook=stage.get("notebook"),
                       error=stage.get("error"))
    for name, decision in (record.get("decisions") or {}).items():
        ledger.restore("decisions", run_id=run_id, at=finished, name=name,
                       value=json.dumps(decision.get("value"), default=str),
                       reason="; ".join(decision.get("reasons") or []))
    version, before = record.get("model_version"), record.get("production_before")
    action = {"deployed": "deploy", "rejected": "reject"}.get(record.get("outcome"))
    if action and version is not None:
        metrics = registry.metrics(version) or {}
        reason = "; ".join((record.get("decisions") or {}).get("deploy", {}).get("reasons") or [])
        ledger.restore("deployments", run_id=run_id, at=finished, action=action, version=version,
                       previous_version=before, f1=metrics.get("f1"), reason=reason or action)
        ledger.restore("scores", run_id=run_id, at=finished, version=version,
                       role="production" if action == "deploy" else "challenger", dataset="test",
                       f1=metrics.get("f1"), metrics=json.dumps(metrics, default=str))
    if record.get("outcome") is not None:
        ledger.restore("run_results", run_id=run_id, finished_at=finished, outcome=record["outcome"],
                       exit_code=record.get("exit_code"), summary=record.get("summary"),
                       production_version=record.get("production_after"))


def ensure_healthy(ledger_path: Path, registry: Registry, runs_path: Path) -> str | None:
    """Check the ledger; when damaged, set it aside and rebuild it. Returns what was done, in words
    (None when the ledger was fine)."""
    problem = damage(ledger_path)
    if problem is None:
        return None
    aside = move_aside(ledger_path)
    recovered = rebuild(Ledger(ledger_path), registry, runs_path)
    return (f"the ledger was damaged ({problem}); it was moved aside to {aside.name} and rebuilt from "
            f"{recovered} run folder(s) and the registry (estimates, quarantine rows and earlier rollbacks "
            f"stay in the damaged copy)")
