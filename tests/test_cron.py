"""The crontab entry, and once the real cron daemon running a cycle on a one-minute schedule."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, run_runner
from riskwatch import cron
from riskwatch.config import load_config


def test_schedules() -> None:
    assert cron.schedule_for("10m") == "*/10 * * * *"
    assert cron.schedule_for("1m") == "* * * * *"
    assert cron.schedule_for("2h") == "0 */2 * * *"
    assert cron.schedule_for("1d") == "0 0 * * *"
    for bad in ("10", "0m", "60m", "3d", "soon"):
        with pytest.raises(ValueError):
            cron.schedule_for(bad)


def test_line_has_absolute_paths_and_the_kernel_environment(project: Path) -> None:
    cfg = load_config(project, "production")
    line = cron.cron_line(cfg, "10m", python="/opt/venv/bin/python")
    assert line.startswith("*/10 * * * * ")
    assert f"--config {cfg.source} --mode production run" in line
    assert f"IPYTHONDIR={cfg.outputs_path}/.cache/ipython" in line
    assert f"MPLCONFIGDIR={cfg.outputs_path}/.cache/matplotlib" in line
    assert "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin" in line
    assert f">> {cfg.outputs_path}/logs/cron.log 2>&1" in line
    assert str(REPO / "runner.py") in line and line.endswith(f"# riskwatch:{cfg.source}")


def test_cronjob_txt_runs_every_ten_minutes() -> None:
    entries = [l for l in (REPO / "cronjob.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert len(entries) == 1 and entries[0].startswith("*/10 * * * * ")


def _have_cron() -> str | None:
    """None when crontab and the cron daemon are usable, else why not. Installs them as root."""
    if shutil.which("crontab") and shutil.which("cron"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "cron is not installed and this is not a root Debian machine that could install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    installed = subprocess.run(["apt-get", "install", "-y", "-qq", "cron"], capture_output=True, env=env)
    if installed.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
        installed = subprocess.run(["apt-get", "install", "-y", "-qq", "cron"], capture_output=True, env=env)
    if installed.returncode != 0 or not shutil.which("crontab"):
        return f"could not install cron: {installed.stderr.decode()[-300:]}"
    return None


@pytest.fixture(scope="module")
def cron_daemon():
    reason = _have_cron()
    if reason:
        pytest.skip(reason)
    started = None
    if subprocess.run(["pgrep", "-x", "cron"], capture_output=True).returncode != 0:
        started = subprocess.Popen([shutil.which("cron"), "-f"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(1)
    yield
    if started is not None:
        started.terminate()
        started.wait(timeout=10)


@pytest.mark.integration
def test_install_show_remove_and_cron_really_runs_it(cron_daemon, project: Path) -> None:
    root = project.parent
    before = cron.read_crontab()
    try:
        installed = run_runner(project, "cron", "install", "--every", "1m")
        assert installed.returncode == 0, installed.stderr
        shown = run_runner(project, "cron", "show").stdout
        assert shown.startswith("* * * * * ") and f"# riskwatch:{project}" in shown
        assert run_runner(project, "cron", "install", "--every", "1m").returncode == 0
        assert sum(f"# riskwatch:{project}" in l for l in cron.read_crontab()) == 1  # replaced, not added

        ledger = root / "outputs" / "ledger.sqlite"
        deadline = time.monotonic() + 200
        finished = []
        while time.monotonic() < deadline and not finished:
            time.sleep(3)
            if ledger.exists():
                with sqlite3.connect(ledger) as db:
                    finished = db.execute("SELECT outcome FROM run_results").fetchall()
        assert finished and finished[0][0] == "deployed", (root / "outputs/logs/cron.log").read_text()[-3000:] \
            if (root / "outputs/logs/cron.log").exists() else "cron never ran the entry"
        log = (root / "outputs" / "logs" / "riskwatch.log").read_text()
        assert "summary: run" in log and "deployed" in log
    finally:
        removed = run_runner(project, "cron", "remove")
    assert removed.returncode == 0 and "removed 1" in removed.stdout
    assert "no riskwatch entry" in run_runner(project, "cron", "show").stdout
    assert cron.read_crontab() == [l for l in before if f"# riskwatch:{project}" not in l]



def test_install_without_mode_never_replaces_another_modes_entry(project: Path) -> None:
    reason = _have_cron()
    if reason:
        pytest.skip(reason)
    before = cron.read_crontab()
    mark = f"# riskwatch:{project}"
    try:
        assert run_runner(project, "--mode", "production", "cron", "install").returncode == 0
        plain = run_runner(project, "cron", "install")  # the config's default mode is practice
        assert plain.returncode == 2 and "Traceback" not in plain.stderr
        assert "mode production" in plain.stderr and "--mode production" in plain.stderr
        ours = [l for l in cron.read_crontab() if mark in l]
        assert [cron.entry_mode(l) for l in ours] == ["production"]  # untouched

        added = run_runner(project, "cron", "install", "--mode", "practice")
        assert added.returncode == 0 and "installed (practice)" in added.stdout
        assert sorted(cron.entry_mode(l) for l in cron.read_crontab() if mark in l) == ["practice", "production"]
        again = run_runner(project, "--mode", "production", "cron", "install", "--every", "2h")
        assert again.returncode == 0
        ours = [l for l in cron.read_crontab() if mark in l]
        assert len(ours) == 2 and any(l.startswith("0 */2 ") and "--mode production" in l for l in ours)

        one = run_runner(project, "cron", "remove", "--mode", "practice")
        assert "removed 1" in one.stdout and "(mode practice)" in one.stdout
        assert [cron.entry_mode(l) for l in cron.read_crontab() if mark in l] == ["production"]
    finally:
        run_runner(project, "cron", "remove")
    assert cron.read_crontab() == [l for l in before if mark not in l]


def test_daemon_running_reads_process_names(tmp_path: Path) -> None:
    for pid, name in ((1, "init"), (17, "bash")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(name + "\n")
    assert not cron.daemon_running(tmp_path)
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "comm").write_text("cron\n")
    assert cron.daemon_running(tmp_path)
    real = subprocess.run(["pgrep", "-x", "cron|crond"], capture_output=True).returncode == 0
    assert cron.daemon_running() == real


def test_install_warns_when_no_cron_daemon_runs(project: Path, tmp_path: Path) -> None:
    """The warning is printed exactly when /proc shows no daemon (checked against pgrep)."""
    reason = _have_cron()
    if reason:
        pytest.skip(reason)
    before = cron.read_crontab()
    try:
        installed = run_runner(project, "cron", "install")
        assert installed.returncode == 0
        running = subprocess.run(["pgrep", "-x", "cron|crond"], capture_output=True).returncode == 0
        assert ("no cron daemon is running" in installed.stderr) == (not running)
    finally:
        run_runner(project, "cron", "remove")
    assert cron.read_crontab() == [l for l in before if f"# riskwatch:{project}" not in l]
