"""riskwatch.environment, and a cycle on a full disk: its own exit code and a sentence naming the
stage, the run and the problem; nothing masked, no temp file left, the log complete once the disk
has space again, status readable while it is full, and the next run redoes the cycle."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import make_project, run_runner
from riskwatch.config import load_config
from riskwatch.environment import (EXIT_ENVIRONMENT, describe_environment_failure, describe_environment_reason,
                                   environment_failure)


def test_exceptions_and_kernel_reasons_are_classified() -> None:
    assert describe_environment_failure(OSError(errno.ENOSPC, "No space left", "/o/x")) == "the disk is full at /o/x"
    assert environment_failure(sqlite3.OperationalError("database or disk is full"))
    assert describe_environment_failure(sqlite3.OperationalError("attempt to write a readonly database")) == \
        "the file system is read-only"
    assert not environment_failure(sqlite3.OperationalError("no such table: runs"))
    assert not environment_failure(FileNotFoundError(errno.ENOENT, "gone"))
    reason = "OSError: [Errno 28] No space left on device: '/p/outputs/runs/x/batch.parquet' (cell 2)"
    assert describe_environment_reason(reason) == "the disk is full at /p/outputs/runs/x/batch.parquet"
    assert describe_environment_reason("PermissionError: [Errno 13] Permission denied") == "permission denied"
    assert describe_environment_reason("ValueError: bad input (cell 3)") is None


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MB tmpfs mounted where the project's outputs go (root only; skipped otherwise)."""
    mount = tmp_path / "outputs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.integration
@pytest.mark.parametrize("free_kb", [40, 400])
def test_a_full_disk_is_exit_5_with_a_sentence_and_loses_nothing(tmp_path: Path, small_disk: Path,
                                                                  free_kb: int) -> None:
    config = make_project(tmp_path / "project", outputs_path=str(small_disk))
    cfg = load_config(config)
    filler = small_disk / "filler"
    total = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * max(0, total - free_kb * 1024))

    full = run_runner(config, "run")
    said = full.stdout + full.stderr
    assert full.returncode == EXIT_ENVIRONMENT, said
    assert "Traceback" not in said and "Logging error" not in said
    first = [line for line in said.splitlines() if " stopped in " in line][0]
    assert first.startswith("run ") and "the disk" in first and "run again" in first
    assert not list(small_disk.rglob(".*.tmp"))                      # no half-written temp file left
    status = run_runner(config, "status")                            # readable while the disk is full
    assert status.returncode == 0 and "Traceback" not in status.stderr

    filler.unlink()                                                   # the disk recovers
    again = run_runner(config, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    log = cfg.log_path.read_text()
    assert " stopped in " in log or "could not finish" in log        # the error reached the log after all
    assert "deployed" in again.stdout or "nothing new" in again.stdout
