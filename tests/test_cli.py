"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import RUNNER, run_runner
from riskwatch.cli import main


def test_help_lists_commands_modes_and_exit_codes() -> None:
    result = subprocess.run([sys.executable, str(RUNNER), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for word in ("run", "status", "history", "rollback", "--mode", "--config", "exit codes",
                 "holds the lock", "configuration error"):
        assert word in result.stdout


def test_status_and_history_before_any_run(project: Path, capsys) -> None:
    assert main(["--config", str(project), "status"]) == 0
    out = capsys.readouterr().out
    assert "no model deployed yet" in out and "last run: none yet" in out
    assert main(["--config", str(project), "history"]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_rollback_without_any_deployment_is_a_clear_error(project: Path, capsys) -> None:
    assert main(["--config", str(project), "rollback"]) == 2
    assert "no earlier deployed version" in capsys.readouterr().err


def test_unknown_mode_is_a_config_error(project: Path) -> None:
    result = run_runner(project, "--mode", "staging", "run")
    assert result.returncode == 2
    assert "'mode'" in result.stderr and "staging" in result.stderr
