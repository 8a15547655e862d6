"""Reading run folders: the newest diagnostics and a run's record."""

from __future__ import annotations

import json
from pathlib import Path

from riskwatch import layout
from riskwatch.layout import RunFolder
from riskwatch.runs import latest_diagnostics, run_record


def test_latest_diagnostics_skips_runs_without_them(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert latest_diagnostics(runs) is None
    for run_id, diagnostics in (("20240101T000000Z", {"model_version": 1}), ("20240102T000000Z", {"model_version": 2}),
                                ("20240103T000000Z", None)):
        (runs / run_id).mkdir(parents=True)
        if diagnostics is not None:
            (runs / run_id / layout.DIAGNOSTICS).write_text(json.dumps(diagnostics))
    run, data = latest_diagnostics(runs)
    assert run == RunFolder(runs / "20240102T000000Z") and data == {"model_version": 2}


def test_run_record(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    assert run_record(run) is None
    run.record.write_text(json.dumps({"drift": {"data": {"verdict": "no drift"}}}))
    assert run_record(run) == {"drift": {"data": {"verdict": "no drift"}}}
