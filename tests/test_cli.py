"""The command line as a user meets it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, RUNNER, closed_port, make_project, run_runner, write_config
from riskwatch.cli import build_parser, main
from riskwatch.config import load_config
from riskwatch.inprocess import train_and_deploy_in_process
from riskwatch.riskfile import latest_risk_path

TESTDATA = REPO / "data" / "testdata" / "testdata.csv"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    """A project with v1 in production (trained in this process: no kernels)."""
    config = make_project(tmp_path_factory.mktemp("cli") / "project")
    train_and_deploy_in_process(load_config(config))
    return config


def test_help_lists_commands_modes_and_exit_codes() -> None:
    result = subprocess.run([sys.executable, str(RUNNER), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for word in ("run", "status", "score", "history", "rollback", "--mode", "--config", "exit codes",
                 "holds the lock", "configuration error"):
        assert word in result.stdout


def test_status_and_history_before_any_run(project: Path, capsys) -> None:
    assert main(["--config", str(project), "status"]) == 0
    out = capsys.readouterr().out
    assert "no model deployed yet" in out and "last run: none yet" in out
    assert "at risk: no risk list yet: run a cycle with new client data" in out
    assert main(["--config", str(project), "history"]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_rollback_without_any_deployment_is_a_clear_error(project: Path, capsys) -> None:
    assert main(["--config", str(project), "rollback"]) == 2
    assert "no earlier deployed version" in capsys.readouterr().err


def test_unknown_mode_is_a_config_error(project: Path) -> None:
    result = run_runner(project, "--mode", "staging", "run")
    assert result.returncode == 2
    assert "'mode'" in result.stderr and "staging" in result.stderr


def test_score_writes_the_risk_list_to_stdout_or_a_file(deployed: Path, tmp_path: Path, capsys) -> None:
    assert main(["--config", str(deployed), "score", str(TESTDATA)]) == 0
    listed = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"corporation": "string"})
    assert list(listed.columns) == ["corporation", "predicted", "probability", "risk_band", "model_version"]
    assert len(listed) == 1250 and listed["probability"].is_monotonic_decreasing
    out = tmp_path / "out" / "risk.csv"
    assert main(["--config", str(deployed), "score", str(TESTDATA), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert pd.read_csv(out, dtype={"corporation": "string"}).equals(listed)
    counts = listed["risk_band"].value_counts()
    assert said.strip() == (f"1,250 clients scored by v1 → {out} (highest risk first): "
                            f"high {counts['high']} · medium {counts['medium']} · low {counts['low']:,}")


def test_status_shows_the_latest_risk_list(deployed: Path, tmp_path: Path, capsys) -> None:
    latest = latest_risk_path(load_config(deployed))
    assert main(["--config", str(deployed), "score", str(TESTDATA), "-o", str(latest)]) == 0
    listed = pd.read_csv(latest)
    capsys.readouterr()
    try:
        assert main(["--config", str(deployed), "status"]) == 0
        line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("at risk"))
    finally:
        latest.unlink()
    top = ", ".join(f"{i} {p:.0%}" for i, p in listed[["corporation", "probability"]].head(3).values)
    assert line.startswith("at risk (latest list, v1, 1,250 clients): high ")
    assert line.endswith(f"; top: {top}")


@pytest.mark.parametrize("content, words", [
    ("corporation,lastmonth_activity\nabc,3\n", "clients.csv cannot be scored: missing column(s)"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees\nabc,3,x,4\n",
     "clients.csv cannot be scored: column 'lastyear_activity' must hold finite numbers"),
])
def test_score_refuses_a_bad_file_with_a_message_and_exit_2(deployed: Path, tmp_path: Path, content, words,
                                                             capsys) -> None:
    path = tmp_path / "clients.csv"
    path.write_text(content)
    assert main(["--config", str(deployed), "score", str(path), "-o", str(tmp_path / "out.csv")]) == 2
    said = capsys.readouterr()
    assert said.out == "" and said.err.startswith("riskwatch: ") and words in said.err
    assert not (tmp_path / "out.csv").exists()


def test_score_of_a_missing_file_from_the_shell_is_one_line_and_exit_2(deployed: Path, tmp_path: Path) -> None:
    result = run_runner(deployed, "score", str(tmp_path / "nope.csv"))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"riskwatch: no such file: {tmp_path / 'nope.csv'}\n"


def test_score_without_a_deployed_model_is_a_clear_error(project: Path, capsys) -> None:
    assert main(["--config", str(project), "score", str(TESTDATA)]) == 2
    assert "no model is deployed yet" in capsys.readouterr().err


# Issue 14, item 1: a path that does not exist is a configuration error, never "nothing new".

@pytest.mark.parametrize("args", [("run",), ("run", "--dry-run")])
def test_run_refuses_a_mistyped_input_folder_naming_key_and_path(tmp_path: Path, args) -> None:
    config = make_project(tmp_path / "project", input_folder_path="data/sourcedta")
    result = run_runner(config, *args)
    missing = tmp_path / "project" / "data" / "sourcedta"
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"riskwatch: configuration error: config key 'input_folder_path' in {config}: "
                             f"the folder {missing} does not exist (mode practice)\n")
    assert not (tmp_path / "project" / "outputs").exists()


@pytest.mark.parametrize("args", [("run",), ("run", "--dry-run")])
def test_run_refuses_a_missing_test_data_path(tmp_path: Path, args) -> None:
    config = make_project(tmp_path / "project", test_data_path="data/testdta/testdata.csv")
    result = run_runner(config, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("riskwatch: configuration error: config key 'test_data_path'")
    assert str(tmp_path / "project" / "data" / "testdta" / "testdata.csv") in result.stderr


def test_an_existing_empty_input_folder_is_still_nothing_new(deployed: Path) -> None:
    (deployed.parent / "data" / "empty").mkdir()
    config = deployed.parent / "empty_input.json"
    config.write_text(json.dumps({**json.loads(deployed.read_text()), "input_folder_path": "data/empty"}))
    result = run_runner(config, "run")
    assert result.returncode == 0, result.stderr
    assert "nothing new in" in result.stdout and "no kernel started" in result.stdout


# Issue 14, item 7: no server is its own exit code and a sentence; a reader that stops early is no error.

def test_apicalls_without_a_server_says_so_with_exit_4(project: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_runner(project, "apicalls", "--url", url)
    assert (result.returncode, result.stdout) == (4, "")
    assert result.stderr == (f"riskwatch: no riskwatch API answers at {url} (Connection refused): "
                             "start it with `runner.py serve`\n")
    help_text = subprocess.run([sys.executable, str(RUNNER), "--help"], capture_output=True, text=True).stdout
    assert "4  apicalls: no server answers" in help_text


@pytest.mark.parametrize("args", [("status",), ("history",), ("run", "--dry-run"), ("score", str(TESTDATA)),
                                  ("--version",)])
def test_every_command_ends_quietly_when_its_reader_stops_early(deployed: Path, args) -> None:
    """As `runner.py status | head -1` when head has gone before the runner writes."""
    process = subprocess.Popen([sys.executable, str(RUNNER), "--config", str(deployed), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone before the first line is written
    stderr = process.stderr.read()
    assert (process.wait(timeout=120), stderr) == (0, "")


# Issue 14, item 9: global options after the command, and --version.

def test_mode_and_config_are_accepted_after_the_command(project: Path, capsys) -> None:
    result = run_runner(project, "run", "--dry-run", "--mode", "production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("dry run (production): ")
    assert str(project.parent / "data" / "sourcedata") in result.stdout
    assert main(["status", "--config", str(project)]) == 0
    assert capsys.readouterr().out.startswith(f"config: {project} (mode practice)")
    assert main(["--mode", "production", "status", "--config", str(project)]) == 0
    assert capsys.readouterr().out.startswith(f"config: {project} (mode production)")


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = subprocess.run([sys.executable, str(RUNNER), "--version"], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"riskwatch {version('riskwatch')}\n", "")
    rollback = build_parser().parse_args(["rollback", "v2"])  # rollback's version is not --version
    assert (rollback.version, rollback.show_version) == (2, False)


@pytest.fixture(scope="module")
def two_deployed_and_a_candidate(tmp_path_factory) -> Path:
    """practice v1 (test F1 ≈ 0.25) deployed, then production v2 (≈ 0.63) deployed, then v3
    registered by an analyst and never scored."""
    from riskwatch.training import train_and_register

    config = make_project(tmp_path_factory.mktemp("rollback") / "project")
    train_and_deploy_in_process(load_config(config))
    production = load_config(config, "production")
    train_and_deploy_in_process(production)
    cfg = production
    train_and_register(str(cfg.finaldata_path), str(cfg.record_path), str(cfg.registry_path),
                       str(cfg.output_model_path), cfg.schema, cfg.model.estimator, cfg.model.params,
                       cfg.model.scale_numeric, "analyst")
    return config


def _production(config: Path) -> int:
    from riskwatch.registry import Registry

    return Registry(load_config(config).registry_path).production_version()


@pytest.mark.parametrize("args, words", [
    (["3"], ["v3 was never scored on the test data", "candidate", "only to scored versions"]),
    (["7"], ["there is no model version 7 in the registry", "v1, v2, v3"]),
    ([], ["v2 (test F1 0.6", "→ v1 (test F1 0.2", "scores lower", "--yes"]),
])
def test_rollback_refuses_unscored_unknown_and_lower_versions(two_deployed_and_a_candidate: Path, args, words,
                                                              ) -> None:
    result = run_runner(two_deployed_and_a_candidate, "rollback", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert _production(two_deployed_and_a_candidate) == 2


def test_rollback_to_a_lower_score_with_yes_says_from_and_to(two_deployed_and_a_candidate: Path, capsys) -> None:
    config = str(two_deployed_and_a_candidate)
    assert main(["--config", config, "rollback", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "rolled back: v2 (test F1 0.6" in out and "→ v1 (test F1 0.2" in out
    assert _production(two_deployed_and_a_candidate) == 1
    assert main(["--config", config, "rollback", "v2"]) == 0  # a higher score needs no --yes
    assert "→ v2" in capsys.readouterr().out and _production(two_deployed_and_a_candidate) == 2


def test_history_marks_quarantined_files_and_status_counts_them(tmp_path: Path) -> None:
    """Refused files and files that lost bad rows are not listed as plain new files (issue 14, item 5)."""
    from types import SimpleNamespace

    from riskwatch.cli import history_text
    from riskwatch.ledger import Ledger
    from riskwatch.reporting import describe_quarantine

    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.start_run("r1", "practice", "c", ["good.csv", "broken.csv", "mixed.csv"])
    ledger.record_quarantine("r1", "broken.csv", "file", None, "the file is empty", str(tmp_path / "q/broken.csv"))
    ledger.record_quarantine("r1", "mixed.csv", "rows", 3, "3 bad row(s)", str(tmp_path / "q/mixed.rows.csv"))
    ledger.finish_run("r1", "deployed", 0, "s", 1)
    history = history_text(SimpleNamespace(ledger_path=ledger.path))
    assert "new files: good.csv, broken.csv [quarantined: file refused], mixed.csv [3 bad row(s) quarantined]" \
        in history
    line = describe_quarantine(ledger.quarantine(["r1"]))
    assert line.startswith("quarantine: 1 file refused (broken.csv), 3 bad rows set aside (3 of mixed.csv) "
                           "in the last run") and str(tmp_path / "q") in line
