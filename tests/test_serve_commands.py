"""``runner.py dashboard`` and ``runner.py serve``: a stop signal stops Voila and every kernel,
idle kernels are culled, and neither server is exposed beyond loopback without a token
(issue 14, items 4 and 12)."""

from __future__ import annotations

import logging
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from conftest import RUNNER, make_project, run_runner
from riskwatch.serve_commands import quiet_kernels, stop_process_tree, token_config, voila_command
from riskwatch.server_policy import DEFAULT_DASHBOARD, TOKEN_VARIABLE
from riskwatch.screenshots import free_port
from test_dashboard import browser, needs_chromium  # noqa: F401  (browser is a fixture)

TOKEN = "a-dashboard-token-0123456789"


def start_dashboard(config: Path, *args: str) -> tuple[subprocess.Popen, int]:
    """``runner.py dashboard`` on a free loopback port, once the port answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(RUNNER), "--config", str(config), "dashboard",
                                "--port", str(port), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not answers(port):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(f"dashboard did not start: {process.communicate()[0][-2000:]}")
        time.sleep(0.1)
    return process, port


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie (a dead process its parent has not reaped yet holds no memory)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def command_line(process: psutil.Process) -> str:
    """Its command line; empty for one that ended while we looked (it has none to show)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def kernels(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if alive(p) and "ipykernel_launcher" in command_line(p)]


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def open_page_without_browser(port: int) -> None:
    """GET the page: Voila runs the notebook in a new kernel (nobody connects to it afterwards)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=90) as response:
        assert response.status == 200
        response.read()  # Voila streams the page while the notebook runs: wait for the end


def assert_stops_everything(process: subprocess.Popen, port: int, sig: int) -> None:
    tree = psutil.Process(process.pid).children(recursive=True)
    assert kernels(tree), "a page view must have started a kernel"
    process.send_signal(sig)
    assert wait_until(lambda: not answers(port), 5), "the port still answers 5 s after the signal"
    assert process.wait(timeout=15) == 0
    assert wait_until(lambda: not any(alive(p) for p in tree), 5), \
        f"left running: {[command_line(p)[:120] for p in tree if alive(p)]}"
    output = process.stdout.read()
    assert "Traceback" not in output, output[-2000:]


@pytest.mark.integration
@needs_chromium
def test_sigterm_stops_voila_and_its_kernels(project: Path, browser) -> None:  # noqa: F811
    process, port = start_dashboard(project)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
        page.get_by_text("No model is deployed yet").wait_for(timeout=90_000)
        assert_stops_everything(process, port, signal.SIGTERM)
        page.close()
    finally:
        if process.poll() is None:
            stop_process_tree(process.pid, grace=1)


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP], ids=["SIGINT", "SIGHUP"])
def test_sigint_and_sighup_stop_voila_and_its_kernels(project: Path, sig: int) -> None:
    process, port = start_dashboard(project)
    try:
        open_page_without_browser(port)
        assert_stops_everything(process, port, sig)
    finally:
        if process.poll() is None:
            stop_process_tree(process.pid, grace=1)


@pytest.mark.integration
def test_dashboard_kernels_log_only_critical_errors(tmp_path: Path, monkeypatch) -> None:
    """A kernel under the dashboard's IPython folder keeps ipykernel's and tornado's errors to itself:
    a kernel stopped while Voila was sending it a message printed a traceback (CI, stop 20)."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("IPYTHONDIR", quiet_kernels(tmp_path))
    manager, client = start_new_kernel()
    try:
        seen = []
        client.execute_interactive(
            "import logging; print(logging.getLogger('tornado.general').getEffectiveLevel())",
            output_hook=lambda msg: seen.append(msg["content"].get("text", "")), timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(seen).strip() == str(logging.CRITICAL)


@pytest.mark.integration
def test_idle_kernels_are_culled(tmp_path: Path) -> None:
    config = make_project(tmp_path / "project", dashboard={"cull_idle_timeout": 2, "cull_interval": 1})
    process, port = start_dashboard(config)
    try:
        open_page_without_browser(port)
        voila = psutil.Process(process.pid).children()[0]
        # The page's kernel and the pre-heated one Voila started for the next page.
        assert wait_until(lambda: len(kernels(voila.children(recursive=True))) == 2, 20)
        # The page's kernel goes; the one pre-heated kernel waiting for the next page stays (memory bounded).
        assert wait_until(lambda: len(kernels(voila.children(recursive=True))) <= 1, 20), \
            "the idle kernel was not culled"
        assert answers(port) and process.poll() is None  # culling stops kernels, not the dashboard
    finally:
        stop_process_tree(process.pid, grace=5)


@pytest.mark.integration
def test_dashboard_with_a_token_asks_for_it(tmp_path: Path) -> None:
    config = make_project(tmp_path / "project", api={"token": TOKEN})
    process, port = start_dashboard(config)
    try:
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(f"http://127.0.0.1:{port}/", timeout=30)
        assert refused.value.code == 302 and "/login" in refused.value.headers["Location"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token={TOKEN}", timeout=90) as response:
            assert response.status == 200
        command_lines = [line for p in psutil.Process(process.pid).children(recursive=True)
                         if (line := command_line(p))]
        assert command_lines and not any(TOKEN in line for line in command_lines)
    finally:
        stop_process_tree(process.pid, grace=5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.integration
@pytest.mark.parametrize("command", ["serve", "dashboard"])
def test_no_server_beyond_loopback_without_a_token(project: Path, command: str) -> None:
    env = {TOKEN_VARIABLE: ""}
    result = run_runner(project, command, "--host", "0.0.0.0", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "api.token" in result.stderr and TOKEN_VARIABLE in result.stderr and "0.0.0.0" in result.stderr


def test_voila_command_culls_idle_kernels_and_keeps_the_token_off_it(tmp_path: Path) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    private = token_config(TOKEN, folder)
    command = voila_command(Path("nb/dashboard.ipynb"), "127.0.0.1", 8866, DEFAULT_DASHBOARD, private)
    assert f"--MappingKernelManager.cull_idle_timeout={DEFAULT_DASHBOARD['cull_idle_timeout']}" in command
    assert f"--MappingKernelManager.cull_interval={DEFAULT_DASHBOARD['cull_interval']}" in command
    assert "--MappingKernelManager.cull_connected=False" in command
    assert f"--Voila.config_file_paths={folder}" in command and not any(TOKEN in part for part in command)
    assert TOKEN in (folder / "voila.json").read_text()
    assert stat.S_IMODE((folder / "voila.json").stat().st_mode) == 0o600
    assert token_config("", folder) is None


def test_stop_process_tree_kills_what_ignores_sigterm() -> None:
    """A child that ignores SIGTERM, and a grandchild in a session of its own (as jupyter_client
    starts kernels), are both gone after the grace period."""
    stubborn = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
                "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'], start_new_session=True); "
                "print('ready', flush=True); time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", stubborn], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout.readline().strip() == "ready"
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    assert len(tree) == 2
    started = time.monotonic()
    stop_process_tree(process.pid, grace=0.5)
    assert not any(alive(p) for p in tree)
    assert time.monotonic() - started < 5
    process.wait(timeout=5)
