"""riskwatch.recorder: events become ledger rows, registry status, alerts, log lines and run.json."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import write_config
from riskwatch.config import load_config
from riskwatch.decisions import Decision
from riskwatch.events import (Decided, Deployed, DriftChecked, DriftDetected, Failed, Ingested, Rejected,
                              RunStarted, Scored, StageEnded, StageStarted)
from riskwatch.ledger import Ledger
from riskwatch.recorder import Recorder, read_pending
from riskwatch.registry import Registry
from test_alerts import Receiver
from unit_helpers import clients, fit

METRICS = {"f1": 0.75, "precision": 0.8}


def project(tmp_path: Path, webhook: str = ""):
    config = write_config(tmp_path, alerts={"webhook_url": webhook, "timeout": 2})
    cfg = load_config(config)
    data = clients(200, seed=3)
    registry = Registry(cfg.registry_path)
    for _ in range(2):
        registry.register(fit(data), data, {"training_files": []})
    return cfg, registry


def test_a_deploying_cycle_is_written_down_in_one_place(tmp_path: Path) -> None:
    cfg, registry = project(tmp_path)
    lines: list[str] = []
    recorder = Recorder(cfg, lines.append)
    run_dir = cfg.runs_path / "r1"
    run_dir.mkdir(parents=True)
    registry.set_production(2, "r1")  # what the deployment notebook does
    recorder.record(
        RunStarted("r1", ("a.csv",), 1, ("ab" * 32,)),
        StageStarted("ingestion", "ingest"),
        StageEnded("ingestion", str(run_dir / "01_ingestion.ipynb"), "t0", 1.234),
        Ingested({"new_files": ["a.csv"], "quarantined": [], "n_rows": 10, "n_batch_rows": 10}),
        Decided("retrain", Decision(True, ("retrain: drift",))),
        Scored(2, "challenger", "test", METRICS),
        Decided("deploy", Decision(True, ("deploy v2",))),
        Deployed(2, 1, METRICS, "deploy v2"),
    )
    assert read_pending(cfg) == {"run_id": "r1", "hashes": ["ab" * 32]}
    summary = recorder.finish(run_dir, "deployed", 0, 2)
    assert read_pending(cfg) is None  # a finished cycle clears its marker
    record = json.loads((run_dir / "run.json").read_text())
    assert record["outcome"] == "deployed" and record["production_before"] == 1 and record["production_after"] == 2
    assert record["decisions"] == {"retrain": {"value": True, "reasons": ["retrain: drift"]},
                                   "deploy": {"value": True, "reasons": ["deploy v2"]}}
    assert record["stages"] == [{"name": "ingestion", "notebook": str(run_dir / "01_ingestion.ipynb"),
                                 "outcome": "ok", "seconds": 1.23}]
    assert record["summary"] == summary and "deploy: deploy v2" in summary
    ledger = Ledger(cfg.ledger_path)
    assert ledger.runs()[0]["outcome"] == "deployed"
    assert [(d["action"], d["version"], d["previous_version"]) for d in ledger.deployments()] == [("deploy", 2, 1)]
    assert [(s["role"], s["version"]) for s in ledger.scores()] == [("challenger", 2), ("production", 2)]
    assert [d["name"] for d in ledger.decisions("r1")] == ["retrain", "deploy"]
    assert registry.status(2)["status"] == "accepted" and registry.status(1)["status"] == "candidate"
    assert lines[0].startswith("riskwatch run r1") and "done in 1.2 s" in lines[-1]
    log = cfg.log_path.read_text()
    assert "run=r1 stage=ingestion INFO" in log and "trained" not in log


def test_a_rejection_and_a_failure_alert_and_keep_the_marker(tmp_path: Path) -> None:
    hook = Receiver()
    try:
        cfg, registry = project(tmp_path, hook.url)
        registry.set_production(1, "r0")
        recorder = Recorder(cfg, lambda line: None)
        run_dir = cfg.runs_path / "r2"
        run_dir.mkdir(parents=True)
        recorder.record(
            RunStarted("r2", ("b.csv",), 1, ("cd" * 32,), redo_of="r1"),
            DriftChecked(1, {"drifted": True}, None),
            DriftDetected(1, "drift detected against v1: data drift: yes", True, "data drift"),
            Rejected(2, 1, 0.3, 0.5, "keep v1"),
            Failed("diagnostics", "boom", str(run_dir / "05_diagnostics.ipynb")),
        )
        recorder.finish(run_dir, "failed", 1, 2)
    finally:
        hook.close()
    assert [m["event"] for m in hook.received] == ["drift", "reject", "failure"]
    assert registry.status(2) == {**registry.status(2), "status": "rejected", "reason": "keep v1", "f1": 0.3}
    record = json.loads((run_dir / "run.json").read_text())
    assert record["redo_of"] == "r1" and record["error"]["stage"] == "diagnostics"
    assert record["drift"] == {"data": {"drifted": True}, "score": None, "estimate": None}
    assert read_pending(cfg)["run_id"] == "r2"  # the failed cycle will be redone
    assert Ledger(cfg.ledger_path).deployments()[0]["action"] == "reject"
