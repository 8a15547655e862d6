"""riskwatch.ledger_repair: a damaged ledger is found, set aside (never deleted) and rebuilt from
the run folders and the registry; status and history say so instead of a traceback, and the next
run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import make_project, run_runner
from riskwatch.config import load_config
from riskwatch.ledger import Ledger
from riskwatch.ledger_repair import damage, ensure_healthy, move_aside
from riskwatch.registry import Registry


def truncate_to_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for extra in path.parent.glob(path.name + "-*"):
        extra.unlink()


def test_damage_is_none_for_a_sound_or_missing_ledger_and_words_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    assert damage(path) is None
    ledger = Ledger(path)
    for i in range(200):  # enough pages that half a file is a broken database, not an empty one
        ledger.start_run(f"run-{i:03d}", "practice", "config.json", [f"file-{i}.csv"] * 20)
    assert damage(path) is None
    truncate_to_half(path)
    assert damage(path)  # SQLite's own words, e.g. "database disk image is malformed"
    aside = move_aside(path)
    assert not path.exists() and aside.exists() and aside.name.startswith("ledger.sqlite.damaged-")


def test_a_ledger_is_rebuilt_from_run_folders_and_the_registry(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for run_id, outcome, version, before in (("20261101T000000Z-a", "deployed", 1, None),
                                             ("20261102T000000Z-b", "rejected", 2, 1)):
        (runs / run_id).mkdir(parents=True)
        (runs / run_id / "run.json").write_text(json.dumps({
            "run_id": run_id, "mode": "practice", "config": "c.json", "started_at": "2026-11-01T00:00:00+00:00",
            "finished_at": "2026-11-01T00:01:00+00:00", "new_files": ["a.csv"], "production_before": before,
            "stages": [{"name": "ingestion", "outcome": "ok", "seconds": 1.0, "notebook": "x.ipynb"}],
            "decisions": {"deploy": {"value": outcome == "deployed", "reasons": [f"{outcome} v{version}"]}},
            "outcome": outcome, "exit_code": 0, "summary": "s", "production_after": 1, "model_version": version}))
    (runs / "20261103T000000Z-c").mkdir()  # a run killed before its run.json: nothing to recover
    registry = Registry(tmp_path / "registry")
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    said = ensure_healthy(path, registry, runs)
    assert "moved aside" in said and "rebuilt from 2 run folder(s)" in said
    ledger = Ledger(path)
    assert [r["run_id"] for r in ledger.runs()] == ["20261102T000000Z-b", "20261101T000000Z-a"]
    assert [(d["action"], d["version"]) for d in ledger.deployments()] == [("reject", 2), ("deploy", 1)]
    assert ledger.decisions("20261101T000000Z-a")[0]["reason"] == "deployed v1"
    assert ensure_healthy(path, registry, runs) is None  # sound now: nothing more to do


@pytest.mark.integration
def test_status_history_and_the_next_run_after_the_ledger_is_damaged(tmp_path: Path) -> None:
    config = make_project(tmp_path / "project")
    cfg = load_config(config)
    assert run_runner(config, "run").returncode == 0
    assert run_runner(config, "--mode", "production", "run").returncode == 0
    truncate_to_half(cfg.ledger_path)

    for command in ("status", "history"):
        result = run_runner(config, command)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "is damaged" in result.stdout and "rebuilds it" in result.stdout

    shutil.copy(cfg.test_data_path / "testdata.csv", cfg.input_folder_path / "more.csv")
    after = run_runner(config, "run")
    assert after.returncode == 0, after.stdout + after.stderr
    assert "recovered: the ledger was damaged" in after.stdout
    assert list(cfg.ledger_path.parent.glob("ledger.sqlite.damaged-*"))
    history = run_runner(config, "history").stdout
    assert "deploy   v1" in history and "deploy   v2" in history and "is damaged" not in history
    record = json.loads(sorted(cfg.runs_path.glob("*/run.json"))[-1].read_text())
    assert "ledger" in record["decisions"] and "rebuilt" in record["decisions"]["ledger"]["reasons"][0]
    assert "the ledger was damaged" in cfg.log_path.read_text()
