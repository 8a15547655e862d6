"""The cycle end to end, through the real runner, real papermill kernels and real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO, RUNNER, last_run, run_dirs, run_runner, write_config
from riskwatch.config import load_config
from riskwatch.cycle import ALWAYS
from riskwatch.ledger import Ledger
from riskwatch.pipeline import run_cycle
from riskwatch.newdata import file_sha256
from riskwatch.registry import Registry
from riskwatch.stages import STAGES, Stage, stage_table

pytestmark = pytest.mark.integration
# No model yet: nothing to drift from; no labels file: no outcomes to match.
FIRST_CYCLE = [s for s in STAGES if s.name not in ("drift", "labels")]


def production_is_consistent(config: Path) -> int:
    """Production points at a complete version whose hash checks out, and the baseline's
    production folder holds exactly that model. Returns the version."""
    cfg = load_config(config)
    registry = Registry(cfg.registry_path)
    version = registry.production_version()
    assert version is not None
    artifact = registry.check(version)
    registry.load_model(version)
    assert file_sha256(cfg.prod_deployment_path / "trainedmodel.pkl") == file_sha256(artifact)
    f1 = (registry.metrics(version) or {})["f1"]
    assert float((cfg.prod_deployment_path / "latestscore.txt").read_text()) == pytest.approx(f1)
    assert not [p for p in cfg.registry_path.iterdir() if ".partial-" in p.name]
    return version


def test_full_cycle_on_bundled_data_then_drift_then_nothing_new(project: Path) -> None:
    root = project.parent
    first = run_runner(project, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "deployed" in first.stdout
    (run_dir,) = run_dirs(root)
    for stage in FIRST_CYCLE:
        assert (run_dir / stage.notebook).is_file(), stage.notebook
    record = json.loads((run_dir / "run.json").read_text())
    assert record["outcome"] == "deployed" and record["exit_code"] == 0
    assert [s["name"] for s in record["stages"]] == [s.name for s in FIRST_CYCLE]
    assert all(s["outcome"] == "ok" and s["seconds"] > 0 for s in record["stages"])
    assert (root / "data/ingesteddata/finaldata.csv").is_file()
    files = json.loads((root / "data/ingesteddata/ingestedfiles.json").read_text())["files"]
    assert {f["name"] for f in files} == {"dataset1.csv", "dataset2.csv"}
    assert all(len(f["sha256"]) == 64 and f["rows"] > 0 for f in files)
    assert (root / "models/practicemodels/trainedmodel.pkl").is_file()
    assert 0 < float((root / "models/practicemodels/latestscore.txt").read_text()) <= 1
    for name in ("trainedmodel.pkl", "latestscore.txt", "ingestedfiles.txt"):
        assert (root / "models/production_deployment" / name).is_file()
    assert production_is_consistent(project) == 1

    again = run_runner(project, "run")
    assert again.returncode == 0
    assert "nothing new" in again.stdout
    assert len(run_dirs(root)) == 1

    production = run_runner(project, "--mode", "production", "run")
    assert production.returncode == 0, production.stdout + production.stderr
    record = last_run(root)
    assert record["outcome"] == "deployed"
    assert record["drift"]["data"]["drifted"] is True
    assert record["decisions"]["retrain"]["value"] is True
    assert any("data drift: yes" in r for r in record["decisions"]["retrain"]["reasons"])
    assert record["decisions"]["deploy"]["value"] is True
    assert production_is_consistent(project) == 2

    # The report: HTML and PDF in the run folder, the PDF also where the baseline put its report.
    report_pdf = Path(record["report"]["pdf"])
    assert report_pdf.is_file() and Path(record["report"]["html"]).is_file()
    assert (root / "models/models/summary_report.pdf").is_file()
    assert (root / "models/models/confusionmatrix.png").stat().st_size > 1000
    text = subprocess.run(["pdftotext", "-layout", str(report_pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    f1 = Registry(load_config(project).registry_path).metrics(2)["f1"]
    assert "Model in production: v2" in text
    assert re.search(rf"test F1 \(realised on labelled test data\)\s+{f1:.3f}", text)
    for feature in ("lastmonth_activity", "lastyear_activity", "number_of_employees"):
        assert any(feature in line and "DRIFT" in line for line in text.splitlines()), feature
    assert "deploy v2: test F1" in text
    assert "data drift: 3 of 3 features drifted" in text
    assert "Traceback" not in text and "def " not in text and "glue" not in text
    diagnostics = json.loads((Path(record["report"]["html"]).parent / "diagnostics.json").read_text())
    assert diagnostics["dependencies"] and all(
        d["note"] == "latest version unknown (offline)" for d in diagnostics["dependencies"])
    assert set(diagnostics["summary_statistics"]) == {"lastmonth_activity", "lastyear_activity",
                                                       "number_of_employees"}
    assert len(diagnostics["predictions"]) == 1250

    unchanged = run_runner(project, "--mode", "production", "run")
    assert unchanged.returncode == 0 and "nothing new" in unchanged.stdout
    assert len(run_dirs(root)) == 2

    # Rollback puts v1 back, in the registry pointer, the production folder and the ledger.
    lower = run_runner(project, "rollback")  # v1 scores lower than v2: asks for --yes, changes nothing
    assert lower.returncode == 2 and "--yes" in lower.stderr and production_is_consistent(project) == 2
    back = run_runner(project, "rollback", "--yes")
    assert back.returncode == 0, back.stderr
    assert production_is_consistent(project) == 1
    status = run_runner(project, "status").stdout
    assert "production: v1" in status
    history = run_runner(project, "history").stdout
    assert "rollback v1" in history and "deploy   v2" in history
    forward = run_runner(project, "rollback", "v2")
    assert forward.returncode == 0 and production_is_consistent(project) == 2


def test_udacity_practice_then_production(udacity_project: Path) -> None:
    """The baseline's own data: F1 0.5714; source data drifts; the 0.3333 challenger is refused."""
    root = udacity_project.parent
    practice = run_runner(udacity_project, "run")
    assert practice.returncode == 0, practice.stdout + practice.stderr
    cfg = load_config(udacity_project)
    registry = Registry(cfg.registry_path)
    assert round(registry.metrics(1)["f1"], 2) == 0.57
    assert round(registry.metrics(1)["f1"], 4) == 0.5714

    production = run_runner(udacity_project, "--mode", "production", "run")
    assert production.returncode == 0, production.stdout + production.stderr
    record = last_run(root)
    assert record["drift"]["data"]["drifted"] is True
    assert record["decisions"]["retrain"]["value"] is True
    assert record["decisions"]["deploy"]["value"] is False
    assert record["outcome"] == "rejected"
    assert round(registry.metrics(2)["f1"], 4) == 0.3333
    assert registry.status(2)["status"] == "rejected"
    assert registry.production_version() == 1
    assert production_is_consistent(udacity_project) == 1
    reason = record["decisions"]["deploy"]["reasons"][0]
    assert "keep v1" in reason and "0.3333" in reason and "0.5714" in reason

    status = run_runner(udacity_project, "status").stdout
    assert "production: v1" in status and "f1 0.5714" in status
    assert "rejected" in status and "keep v1" in status
    with sqlite3.connect(cfg.ledger_path) as db:
        actions = db.execute("SELECT action, version FROM deployments ORDER BY rowid").fetchall()
    assert actions == [("deploy", 1), ("reject", 2)]


def test_no_new_data_tick_starts_no_kernel(project: Path) -> None:
    assert run_runner(project, "run").returncode == 0
    tick = run_runner(project, "run", python_flags=("-X", "importtime"))
    assert tick.returncode == 0
    assert "nothing new" in tick.stdout and "no kernel started" in tick.stdout
    imported = {line.split("|")[-1].strip() for line in tick.stderr.splitlines() if "|" in line}
    # No kernel can start without these; pandas would mean the tick does heavy work for nothing.
    for module in ("papermill", "jupyter_client", "nbclient", "pandas", "sklearn"):
        assert module not in imported, module


def test_bad_file_is_quarantined_and_the_batch_goes_through(project: Path) -> None:
    root = project.parent
    bad = root / "data/practicedata/broken.csv"
    bad.write_text("corporation,lastmonth_activity\nabcd,12\n")
    result = run_runner(project, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    record = last_run(root)
    assert record["outcome"] == "deployed"
    assert record["ingestion"]["quarantined"] == ["broken.csv"]
    assert sorted(record["ingestion"]["new_files"]) == ["dataset1.csv", "dataset2.csv"]
    reasons = list((root / "data/quarantine").glob("broken*.reason.txt"))
    assert len(reasons) == 1 and "missing column" in reasons[0].read_text()
    assert bad.exists()  # raw input is never moved or deleted
    assert "quarantined: broken.csv" in result.stdout
    # ... and it shows wherever a person looks: status, history, the report, /diagnostics, the dashboard
    status = run_runner(project, "status").stdout
    assert "quarantine: 1 file refused" in status, status
    history = run_runner(project, "history").stdout
    assert "broken.csv" in history and "dataset1.csv" in history
    report = Path(record["report"]["html"]).read_text()
    assert "broken.csv" in report and "missing column" in report
    from fastapi.testclient import TestClient

    from riskwatch.api import create_app
    from riskwatch.dashboard import last_run_summary, load_state
    diagnostics = TestClient(create_app(load_config(project))).get("/diagnostics").json()
    assert [q["name"] for q in diagnostics["quarantine"]] == ["broken.csv"]
    assert "quarantine: 1 file refused" in last_run_summary(load_state(project))


def test_failing_stage_exits_nonzero_keeps_notebook_and_is_redone(project: Path) -> None:
    root = project.parent
    # A negative C is refused by scikit-learn inside the training kernel.
    write_config(root, model={"params": {"C": -1.0, "solver": "liblinear", "random_state": 0}})
    failed = run_runner(project, "run")
    assert failed.returncode == 1
    assert "FAILED in training" in failed.stdout
    record = last_run(root)
    assert record["outcome"] == "failed" and record["error"]["stage"] == "training"
    partial = nbformat.read(record["error"]["notebook"], as_version=4)
    errors = [o for c in partial.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and "InvalidParameterError" in errors[0]["ename"]
    assert production_is_consistent_or_empty(project) is None

    write_config(root)  # fixed: the next run redoes the interrupted work
    redone = run_runner(project, "run")
    assert redone.returncode == 0, redone.stdout + redone.stderr
    assert "redoing the unfinished cycle" in redone.stdout
    assert last_run(root)["outcome"] == "deployed"


def production_is_consistent_or_empty(config: Path) -> int | None:
    cfg = load_config(config)
    if Registry(cfg.registry_path).production_version() is None:
        return None
    return production_is_consistent(config)


def test_config_error_names_the_key(tmp_path: Path) -> None:
    config = json.loads((REPO / "config.json").read_text())
    del config["test_data_path"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run_runner(path, "run")
    assert result.returncode == 2
    assert "test_data_path" in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr


def _start(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(RUNNER), "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for(predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_two_concurrent_runs_one_is_refused(project: Path) -> None:
    root = project.parent
    first = _start(project)
    try:
        _wait_for(lambda: bool(run_dirs(root)))
        second = run_runner(project, "run")
        assert second.returncode == 3
        assert "another riskwatch cycle is running" in second.stderr
    finally:
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, out + err


@pytest.mark.parametrize("stage_notebook", ["02_training.ipynb", "04_deployment.ipynb"])
def test_sigkill_mid_cycle_then_a_clean_next_run(project: Path, stage_notebook: str) -> None:
    root = project.parent
    assert run_runner(project, "run").returncode == 0          # v1 in production
    runner = _start(write_config(root))  # same config; production data comes next
    runner.kill()
    runner.wait()
    runner = subprocess.Popen([sys.executable, str(RUNNER), "--config", str(project), "--mode", "production",
                               "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    _wait_for(lambda: len(run_dirs(root)) >= 2 and (run_dirs(root)[-1] / stage_notebook).exists())
    os.killpg(runner.pid, signal.SIGKILL)  # the runner and its kernel, mid-stage
    runner.wait()
    killed_dir = run_dirs(root)[-1]
    assert not (killed_dir / "run.json").exists()
    production_is_consistent(project)  # still one complete, loadable version
    with sqlite3.connect(load_config(project).ledger_path) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] >= 2

    nxt = run_runner(project, "--mode", "production", "run")
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    assert "redoing the unfinished cycle" in nxt.stdout
    # the redo may retrain to a tie with a version the killed run already deployed: then it is refused
    assert last_run(root)["outcome"] in ("deployed", "no-retrain", "rejected")
    assert production_is_consistent(project) >= 2
    status = run_runner(project, "status")
    assert status.returncode == 0 and "production: v" in status.stdout


def test_dry_run_changes_nothing(project: Path) -> None:
    root = project.parent
    snapshot = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = run_runner(project, "run", "--dry-run")
    assert result.returncode == 0
    assert "2 new file(s)" in result.stdout and "dataset1.csv" in result.stdout
    assert "no model is deployed" in result.stdout
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == snapshot


def rowcount_notebook(path: Path) -> Path:
    """A new stage's notebook, written as an analyst would: parameters, one call, display, glue."""
    parameters = new_code_cell('finaldata_path = "../data/ingesteddata/finaldata.csv"\nrun_id = "manual"')
    parameters.metadata["tags"] = ["parameters"]
    body = new_code_cell("import pandas as pd\nrows = len(pd.read_csv(finaldata_path))\n"
                         "print(f'{rows} ingested rows in run {run_id}')")
    glue = new_code_cell("from riskwatch.scraps import glue_many\nglue_many(rows=rows, stage_finished=True)")
    glue.metadata["tags"] = ["remove_cell"]
    nbformat.write(new_notebook(cells=[parameters, body, glue], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    return path


def test_a_new_stage_is_one_entry_plus_a_notebook(project: Path, tmp_path: Path) -> None:
    """A throwaway stage added to the list runs, is recorded and is reported — no other code change."""
    extra = Stage("rowcount", str(rowcount_notebook(tmp_path / "99_rowcount.ipynb")), "count the ingested rows",
                  ALWAYS, {"finaldata_path": "config.finaldata_path", "run_id": "run.run_id"}, scraps=("rows",),
                  reads=("finaldata.csv",))
    at = [s.name for s in STAGES].index("diagnostics")
    stages = STAGES[:at] + (extra,) + STAGES[at:]
    lines: list[str] = []
    result = run_cycle(load_config(project), stages=stages, echo=lines.append)
    assert result.exit_code == 0 and result.outcome == "deployed", "\n".join(lines)
    record = json.loads((result.run_dir / "run.json").read_text())
    assert [s["name"] for s in record["stages"]] == [s.name for s in stages if s.name not in ("drift", "labels")]
    executed = nbformat.read(result.run_dir / "99_rowcount.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"{record['ingestion']['n_rows']} ingested rows in run {result.run_id}" in printed
    assert [r["outcome"] for r in Ledger(load_config(project).ledger_path).stages(result.run_id)
            if r["stage"] == "rowcount"] == ["ok"]
    assert any("rowcount" in line and "count the ingested rows" in line for line in lines)
    assert "rowcount" in result.summary
    diagnostics = json.loads((result.run_dir / "diagnostics.json").read_text())
    assert "rowcount" in diagnostics["timings"]["this_run"]
    assert "rowcount" in Path(record["report"]["html"]).read_text()  # the report's timings table
    assert "| rowcount | `" in stage_table(stages)


def test_unlabelled_clients_get_a_risk_list_an_estimate_and_later_a_realised_score(project: Path) -> None:
    """Issue 13 end to end: client data without outcomes is scored and watched; outcomes that arrive
    months later are matched to that scoring and the realised F1 sits beside the estimate."""
    import pandas as pd

    root = project.parent
    assert run_runner(project, "run").returncode == 0                       # v1 from the practice data
    clients = pd.read_csv(root / "data/testdata/testdata.csv", dtype={"corporation": str})
    clients.drop(columns="exited").to_csv(root / "data/practicedata/clients_2026-11.csv", index=False)
    scored_run = run_runner(project, "run")
    assert scored_run.returncode == 0, scored_run.stdout + scored_run.stderr
    record = last_run(root)
    assert record["ingestion"]["n_unlabelled_rows"] == 1250 and record["drift"]["data"]["n_current"] == 1250
    assert record["drift"]["estimate"]["n"] == 1250
    risk = pd.read_csv(run_dirs(root)[-1] / "risk_scores.csv", dtype={"corporation": str})
    assert list(risk.columns) == ["corporation", "predicted", "probability", "risk_band", "model_version"]
    assert len(risk) == 1250 and risk["probability"].is_monotonic_decreasing
    assert (root / "models/production_deployment/risk_scores.csv").read_bytes() == \
        (run_dirs(root)[-1] / "risk_scores.csv").read_bytes()
    assert record["risk"]["n_scored"] == 1250 and sum(record["risk"]["band_counts"].values()) == 1250
    assert f"risk: 1250 clients scored by v{record['risk']['model_version']}" in scored_run.stdout
    cfg = load_config(project)
    [estimate] = [h for h in Ledger(cfg.ledger_path).estimates_and_outcomes() if h["run_id"] == record["run_id"]]
    assert estimate["realised_f1"] is None and 0 < estimate["estimated_f1"] < 1
    report = subprocess.run(["pdftotext", "-layout", record["report"]["pdf"], "-"], capture_output=True, text=True,
                            check=True).stdout
    assert "Clients at risk" in report and risk["corporation"].iloc[0] in report
    assert "outcomes not in yet" in report

    clients[["corporation", "exited"]].to_csv(root / "data/practicedata/labels_2026-12.csv", index=False)
    labels_run = run_runner(project, "run")
    assert labels_run.returncode == 0, labels_run.stdout + labels_run.stderr
    [realised] = last_run(root)["outcomes"]["realised"]
    assert realised["scored_in_run"] == record["run_id"] and realised["n"] == clients["corporation"].nunique()
    [history] = [h for h in Ledger(cfg.ledger_path).estimates_and_outcomes() if h["run_id"] == record["run_id"]]
    version = record["risk"]["model_version"]
    assert history["realised_f1"] == pytest.approx(Registry(cfg.registry_path).metrics(version)["f1"], abs=0.02)
    assert f"outcomes: {realised['n']} clients scored in run {record['run_id']}" in labels_run.stdout
    status = run_runner(project, "status").stdout
    assert "estimated F1 without labels" in status and f"last realised: F1 {history['realised_f1']:.4f}" in status
    assert "at risk (latest list" in status
    from fastapi.testclient import TestClient

    from riskwatch import dashboard
    from riskwatch.api import create_app

    scoring = TestClient(create_app(cfg)).get("/scoring").json()["estimate_without_labels"]
    assert scoring["last_realised"]["realised_f1"] == pytest.approx(history["realised_f1"])
    assert "Performance before outcomes arrive" in dashboard.last_run_summary(dashboard.load_state(project))


def _span_stage(folder: Path, name: str, fails: bool = False, beside: str = "") -> Stage:
    """A probe stage that glues when it ran (and then fails, if asked)."""
    parameters = new_code_cell("run_id = ''")
    parameters.metadata["tags"] = ["parameters"]
    work = ("import time\nfrom riskwatch.scraps import glue\nstart = time.time()\ntime.sleep(3)\n"
            "glue('span', [start, time.time()])" + ("\nraise RuntimeError('probe failed')" if fails else ""))
    nb = new_notebook(cells=[parameters, new_code_cell(work),
                             new_code_cell("from riskwatch.scraps import glue\nglue('stage_finished', True)")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, folder / f"{name}.ipynb")
    return Stage(name, f"{name}.ipynb", f"probe {name}", ALWAYS, {"run_id": "run.run_id"}, ("span",), beside=beside)


def _spans(folder: Path, project: Path, second_fails: bool = False) -> tuple[Any, dict, list[str]]:
    """Three probe stages, the second beside the first: the result, when each ran, what was said."""
    from riskwatch.scraps import read_scraps

    stages = (_span_stage(folder, "first"), _span_stage(folder, "second", second_fails, beside="first"),
              _span_stage(folder, "third"))
    lines: list[str] = []
    result = run_cycle(load_config(project), stages=stages, notebooks_folder=folder, echo=lines.append)
    record = json.loads((result.run_dir / "run.json").read_text())
    spans = {stage["name"]: read_scraps(Path(stage["notebook"]))["span"] for stage in record["stages"]}
    return result, spans, lines


@pytest.mark.parametrize("second_fails", [False, True], ids=["both-finish", "one-fails"])
def test_stages_beside_each_other_run_at_once_and_are_recorded_in_order(project: Path, tmp_path: Path,
                                                                      second_fails: bool) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    result, spans, lines = _spans(folder, project, second_fails)
    record = json.loads((result.run_dir / "run.json").read_text())
    assert spans["first"][0] < spans["second"][1] and spans["second"][0] < spans["first"][1]  # they overlapped
    ledger = [r["stage"] for r in Ledger(load_config(project).ledger_path).stages(result.run_id)]
    if second_fails:
        assert result.exit_code == 1 and record["error"]["stage"] == "second"
        assert [(s["name"], s["outcome"]) for s in record["stages"]] == [("first", "ok"), ("second", "failed")]
        assert ledger == ["first", "second"]  # the third never started; the first's end is kept
        assert any("second FAILED: RuntimeError: probe failed" in line for line in lines)
        assert (result.run_dir / "second.ipynb").exists()
    else:
        assert result.exit_code == 0 and ledger == ["first", "second", "third"]
        assert spans["third"][0] >= max(spans["first"][1], spans["second"][1])  # after both
        assert any("→ second" in line and "(beside first)" in line for line in lines)
        assert any(line.strip().startswith("first done in") for line in lines)


def test_side_by_side_turned_off_runs_one_after_the_other(project: Path, tmp_path: Path) -> None:
    config = json.loads(project.read_text())
    config["runtime"] = {**config.get("runtime", {}), "side_by_side": False}
    project.write_text(json.dumps(config))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    result, spans, lines = _spans(folder, project)
    assert result.exit_code == 0
    assert spans["first"][1] <= spans["second"][0] and spans["second"][1] <= spans["third"][0]
    assert not any("beside" in line for line in lines)


def test_side_by_side_changes_no_output(project: Path, tmp_path: Path) -> None:
    """The first cycle with risk beside diagnostics writes what it writes with every stage in turn:
    the risk list, diagnostics (timings apart: they are the stages ended before it) and the scraps."""
    import dataclasses
    import shutil

    from riskwatch.scraps import read_scraps

    in_turn = tmp_path / "in_turn"
    shutil.copytree(project.parent, in_turn)
    sequential = tuple(dataclasses.replace(s, beside="") for s in STAGES)
    together = run_cycle(load_config(project), echo=lambda line: None)
    alone = run_cycle(load_config(in_turn / project.name), stages=sequential, echo=lambda line: None)
    assert together.outcome == alone.outcome == "deployed"
    assert (together.run_dir / "risk_scores.csv").read_bytes() == (alone.run_dir / "risk_scores.csv").read_bytes()

    def diagnostics(run_dir: Path) -> dict:
        data = json.loads((run_dir / "diagnostics.json").read_text())
        for key in ("timings", "dependencies", "run_id"):
            data.pop(key, None)
        return data

    assert diagnostics(together.run_dir) == diagnostics(alone.run_dir)

    def scraps(notebook: Path, root: Path, run_id: str) -> str:
        return json.dumps(read_scraps(notebook), sort_keys=True).replace(str(root), "ROOT").replace(run_id, "RUN")

    for notebook in sorted(together.run_dir.glob("*.ipynb")):
        assert (scraps(notebook, project.parent, together.run_id)
                == scraps(alone.run_dir / notebook.name, in_turn, alone.run_id)), notebook.name
