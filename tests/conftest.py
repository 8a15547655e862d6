"""Shared fixtures: throw-away projects in temp folders, and the runner as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UDACITY = REPO.parent / "shared" / "data" / "udacity"
RUNNER = REPO / "runner.py"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(project: Path, **overrides) -> Path:
    """A config.json in ``project`` like the repository's, with relative paths inside ``project``.

    The package index is an unreachable loopback address: tests never depend on the network,
    and every cycle exercises the dependency check's offline path.
    """
    config = json.loads((REPO / "config.json").read_text())
    config["report"] = {"index_url": f"http://127.0.0.1:{closed_port()}/simple", "dependency_timeout": 1.0}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = project / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def make_project(root: Path, data: Path = REPO / "data", **overrides) -> Path:
    """Copy practicedata/sourcedata/testdata from ``data`` into ``root``/data and write a config."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("practicedata", "sourcedata", "testdata"):
        shutil.copytree(data / part, root / "data" / part)
    return write_config(root, **overrides)


def run_runner(config: Path, *args: str, timeout: float = 300, env: dict | None = None,
               python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``python runner.py --config CONFIG ARGS`` as cron would run it; returns the finished process."""
    return subprocess.run(
        [sys.executable, *python_flags, str(RUNNER), "--config", str(config), *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def run_dirs(project: Path) -> list[Path]:
    runs = project / "outputs" / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def last_run(project: Path) -> dict:
    return json.loads((run_dirs(project)[-1] / "run.json").read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh project on the bundled sample data; returns its config path."""
    return make_project(tmp_path / "project")


@pytest.fixture
def udacity_project(tmp_path: Path) -> Path:
    """A project reading the baseline's canonical data from ../shared (never copied into the repo)."""
    if not UDACITY.is_dir():
        pytest.skip(f"the baseline's canonical data is not at {UDACITY}")
    root = tmp_path / "udacity"
    root.mkdir()
    return write_config(
        root,
        input_folder_path=str(UDACITY / "practicedata"),
        test_data_path=str(UDACITY / "testdata"),
        modes={"practice": {}, "production": {"input_folder_path": str(UDACITY / "sourcedata"),
                                              "output_model_path": "models/models"}},
    )


@pytest.fixture(scope="module")
def good_model():
    """The default pipeline fitted on 600 sample clients."""
    from unit_helpers import clients, fit

    return fit(clients(600, seed=21))


@pytest.fixture(scope="module")
def test_data():
    """400 labelled sample clients the models did not see."""
    from unit_helpers import clients

    return clients(400, seed=23)
