"""riskwatch.ledger: the append-only SQLite record of runs, stages, decisions, scores, deployments."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from riskwatch.ledger import TABLES, Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "outputs" / "ledger.sqlite")


def raw(ledger: Ledger) -> sqlite3.Connection:
    return sqlite3.connect(ledger.path)


def dump(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every row of every table, read with a plain connection."""
    with closing(raw(ledger)) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}


def test_creates_the_database_with_all_tables_in_wal_mode(ledger: Ledger) -> None:
    assert ledger.path.is_file()
    with closing(raw(ledger)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert set(TABLES) <= tables
    assert triggers >= {f"{t}_no_{v}" for t in TABLES for v in ("update", "delete")}
    assert mode == "wal"


def test_runs_and_results_are_joined(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "/cfg.json", ["dataset1.csv", "dataset2.csv"])
    ledger.finish_run("r1", "deployed", 0, "deployed v1", 1)
    ledger.start_run("r2", "production", "/cfg.json", [])
    ledger.finish_run("r2", "rejected", 0, "kept v1", 1)
    runs = ledger.runs()
    assert [r["run_id"] for r in runs] == ["r2", "r1"]  # newest first
    assert runs[1]["outcome"] == "deployed" and runs[1]["exit_code"] == 0
    assert runs[1]["summary"] == "deployed v1" and runs[1]["production_version"] == 1
    assert json.loads(runs[1]["new_files"]) == ["dataset1.csv", "dataset2.csv"]
    assert runs[0]["mode"] == "production" and runs[0]["outcome"] == "rejected"
    assert runs[0]["finished_at"] >= runs[0]["started_at"]
    assert ledger.last_run()["run_id"] == "r2"
    assert [r["run_id"] for r in ledger.runs(limit=1)] == ["r2"]


def test_unfinished_run_has_no_outcome(ledger: Ledger) -> None:
    ledger.start_run("done", "practice", "c", [])
    ledger.finish_run("done", "nothing-new", 0, "", None)
    ledger.start_run("killed", "practice", "c", ["x.csv"])
    runs = {r["run_id"]: r for r in ledger.runs()}
    assert runs["killed"]["outcome"] is None and runs["killed"]["finished_at"] is None
    assert runs["killed"]["exit_code"] is None
    assert runs["done"]["outcome"] == "nothing-new"
    assert ledger.last_run()["run_id"] == "killed"


def test_empty_ledger(ledger: Ledger) -> None:
    assert ledger.runs() == [] and ledger.last_run() is None
    assert ledger.scores() == [] and ledger.deployments() == []


def test_stages_and_timings(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "c", [])
    ledger.record_stage("r1", "ingestion", "2026-01-01T00:00:00+00:00", 1.5, "ok", "/runs/r1/01.ipynb")
    ledger.record_stage("r1", "training", "2026-01-01T00:00:02+00:00", 3.0, "failed", None, "boom")
    ledger.record_stage("r2", "ingestion", "2026-01-02T00:00:00+00:00", 2.5, "ok", None)
    stages = ledger.stages("r1")
    assert [(s["stage"], s["seconds"], s["outcome"]) for s in stages] == [
        ("ingestion", 1.5, "ok"), ("training", 3.0, "failed")]
    assert stages[1]["error"] == "boom" and stages[0]["notebook"] == "/runs/r1/01.ipynb"
    timings = ledger.stage_timings("ingestion")
    assert [(t["run_id"], t["seconds"]) for t in timings] == [("r2", 2.5), ("r1", 1.5)]
    assert ledger.stages("nope") == []


def test_decisions_keep_their_json_values(ledger: Ledger) -> None:
    ledger.record_decision("r1", "retrain", True, "data drift")
    ledger.record_decision("r1", "gate", {"value": False, "reasons": ["keep v1"]}, "worse")
    ledger.record_decision("r1", "undecided", None, "too few rows")
    ledger.record_decision("r2", "retrain", False, "other run")
    decisions = ledger.decisions("r1")
    assert [(d["name"], d["value"], d["reason"]) for d in decisions] == [
        ("retrain", True, "data drift"),
        ("gate", {"value": False, "reasons": ["keep v1"]}, "worse"),
        ("undecided", None, "too few rows"),
    ]


def test_scores_by_role(ledger: Ledger) -> None:
    ledger.record_score("r1", 1, "test", "testdata", {"f1": 0.6, "n": 10})
    ledger.record_score("r1", 1, "batch", "batch.parquet", {"f1": 0.4})
    ledger.record_score(None, 2, "test", "testdata", {"precision": 0.5})
    all_scores = ledger.scores()
    assert [(s["version"], s["role"], s["f1"]) for s in all_scores] == [
        (1, "test", 0.6), (1, "batch", 0.4), (2, "test", None)]
    assert json.loads(all_scores[0]["metrics"]) == {"f1": 0.6, "n": 10}
    assert [s["f1"] for s in ledger.scores(["batch"])] == [0.4]
    assert [s["version"] for s in ledger.scores(("test", "batch"))] == [1, 1, 2]


def test_production_scores_are_per_mode_and_per_version(ledger: Ledger) -> None:
    ledger.start_run("p1", "practice", "c", [])
    ledger.start_run("r1", "production", "c", [])
    ledger.start_run("r2", "production", "c", [])
    ledger.record_score("p1", 2, "production", "test", {"f1": 0.90})       # practice: another mode
    ledger.record_score("r1", 1, "production", "test", {"f1": 0.50})       # an earlier version
    ledger.record_score("r1", 2, "production", "test", {"f1": 0.63})
    ledger.record_score("r1", 2, "challenger", "test", {"f1": 0.63})       # not a production score
    ledger.record_score("r2", 2, "production", "batch", {"f1": 0.61})
    ledger.record_score("r2", 2, "production", "batch", {"precision": 0.5})  # no F1
    ledger.record_score(None, 2, "production", "test", {"f1": 0.99})      # no run, so no mode
    ledger.record_score("in-process", 2, "production", "test", {"f1": 0.98})  # no such run
    assert ledger.production_scores("production", 2) == [0.63, 0.61]
    assert ledger.production_scores("practice", 2) == [0.90]
    assert ledger.production_scores("production", 1) == [0.50]
    assert ledger.production_scores("production", 3) == []


def test_deployments_newest_first(ledger: Ledger) -> None:
    ledger.record_deployment("r1", "deploy", 1, None, 0.6, "first model")
    ledger.record_deployment("r2", "deploy", 2, 1, 0.7, "better")
    ledger.record_deployment(None, "rollback", 1, 2, 0.6, "by hand")
    deployments = ledger.deployments()
    assert [(d["action"], d["version"], d["previous_version"]) for d in deployments] == [
        ("rollback", 1, 2), ("deploy", 2, 1), ("deploy", 1, None)]
    assert [d["version"] for d in ledger.deployments(limit=2)] == [1, 2]


def test_reopening_keeps_the_history(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "c", [])
    again = Ledger(ledger.path)
    assert [r["run_id"] for r in again.runs()] == ["r1"]


def test_run_ids_are_unique(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "c", [])
    with pytest.raises(sqlite3.IntegrityError):
        ledger.start_run("r1", "practice", "c", [])


# ---- append-only ---------------------------------------------------------------------------

def fill(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "c", [])
    ledger.finish_run("r1", "deployed", 0, "s", 1)
    ledger.record_stage("r1", "ingestion", "t", 1.0, "ok", None)
    ledger.record_decision("r1", "retrain", True, "why")
    ledger.record_score("r1", 1, "test", "d", {"f1": 0.5})
    ledger.record_deployment("r1", "deploy", 1, None, 0.5, "first")
    ledger.record_quarantine("r1", "bad.csv", "rows", 2, "line 3: id missing", "/q/bad.rows.csv", "a" * 64)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET run_id = 'forged'", "DELETE FROM {t}"])
def test_update_and_delete_are_refused(ledger: Ledger, table: str, statement: str) -> None:
    fill(ledger)
    before = dump(ledger)
    assert all(before.values())
    with closing(raw(ledger)) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement.format(t=table))
        db.rollback()
    assert dump(ledger) == before


def test_insert_or_replace_cannot_rewrite_a_run(ledger: Ledger) -> None:
    ledger.start_run("r1", "practice", "c", ["real.csv"])
    with closing(raw(ledger)) as db:
        try:
            db.execute("INSERT OR REPLACE INTO runs (run_id, started_at, mode) VALUES ('r1', 'then', 'forged')")
            db.commit()
        except sqlite3.DatabaseError:
            pass
    (run,) = ledger.runs()
    assert run["mode"] == "practice" and json.loads(run["new_files"]) == ["real.csv"]


def test_estimates_sit_beside_the_outcomes_that_arrive_later(tmp_path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.start_run("r1", "production", "c", [])
    ledger.record_score("r1", 2, "production", "estimate", {"f1": 0.6, "n": 500, "intervals": {"f1": [0.55, 0.65]}})
    ledger.start_run("r2", "production", "c", [])
    ledger.record_score("r2", 2, "production", "estimate", {"f1": 0.5, "n": 300})
    assert [h["realised_f1"] for h in ledger.estimates_and_outcomes()] == [None, None]
    ledger.start_run("r3", "production", "c", [])
    ledger.record_score("r3", 2, "production", "realised", {"f1": 0.62, "n": 480, "scored_in_run": "r1"})
    newest, oldest = ledger.estimates_and_outcomes()
    assert (newest["run_id"], newest["realised_f1"]) == ("r2", None)
    assert (oldest["run_id"], oldest["estimated_f1"], oldest["interval"], oldest["realised_f1"], oldest["n_realised"]) \
        == ("r1", 0.6, [0.55, 0.65], 0.62, 480)
    assert ledger.production_scores("production", 2) == [0.62]  # estimates never count as scores


def test_a_version_1_ledger_stays_readable_and_gains_the_quarantine_table(tmp_path) -> None:
    """A ledger written before the quarantine table existed keeps its rows and learns the new table."""
    from riskwatch.ledger import SCHEMA

    path = tmp_path / "ledger.sqlite"
    old_schema = SCHEMA.split("CREATE TABLE IF NOT EXISTS quarantine")[0]
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(old_schema)
        db.execute("INSERT INTO runs (run_id, started_at, mode, config, new_files) "
                   "VALUES ('old', 't', 'practice', 'c', '[\"a.csv\"]')")
        db.execute("PRAGMA user_version = 1")
    ledger = Ledger(path)
    assert [r["run_id"] for r in ledger.runs()] == ["old"]
    assert ledger.quarantine(["old"]) == []
    ledger.record_quarantine("new", "bad.csv", "file", None, "the file is empty", "/q/bad.csv")
    assert [r["name"] for r in ledger.quarantine(["new"])] == ["bad.csv"]
    with closing(raw(ledger)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 2
