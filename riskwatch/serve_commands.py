"""``runner.py serve`` and ``runner.py dashboard``: start the API or the Voila dashboard, refuse to
expose either beyond loopback without a token (:mod:`riskwatch.server_policy`), and stop every
process they started when asked to stop.

Voila runs in its own session (its own process group), so a signal to the runner is not lost on
the way: SIGTERM, SIGINT and SIGHUP are forwarded as SIGTERM (Voila then shuts its kernels down);
whatever is still alive after a grace period — Voila, or a kernel, which jupyter_client starts in
a session of its own — is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psutil

from riskwatch.server_policy import access_token, require_token_beyond_loopback

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_SECONDS = 8.0


def serve(cfg, host: str | None, port: int | None) -> int:
    """Run the API on uvicorn until stopped."""
    host, port = host or cfg.api["host"], port or cfg.api["port"]
    token = access_token(cfg.api)
    require_token_beyond_loopback(host, token, "API")
    import uvicorn

    from riskwatch.api import create_app

    note = " — every route but /health and the docs needs 'Authorization: Bearer <token>'" if token else ""
    print(f"riskwatch API on http://{host}:{port} (docs: http://{host}:{port}/docs){note}", flush=True)
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning")
    return 0


def dashboard(cfg, port: int, host: str | None = None) -> int:
    """Run Voila on the dashboard notebook for this config until a stop signal, then stop it and its kernels."""
    from riskwatch.executor import kernel_environment

    host = host or cfg.dashboard["host"]
    token = access_token(cfg.api)
    require_token_beyond_loopback(host, token, "dashboard")
    notebook = cfg.notebooks_path / "dashboard.ipynb"
    kernel_environment(cfg)
    env = {**os.environ, "RISKWATCH_CONFIG": str(cfg.source)}
    with tempfile.TemporaryDirectory(prefix="riskwatch-voila-") as private:
        env["IPYTHONDIR"] = quiet_kernels(Path(private))
        command = voila_command(notebook, host, port, cfg.dashboard, token_config(token, Path(private)))
        query = "?token=<your token>" if token else ""
        print(f"riskwatch dashboard on http://{host}:{port}/{query} (Ctrl-C to stop)", flush=True)
        return run_until_stopped(command, env, cfg.notebooks_path)


def voila_command(notebook: Path, host: str, port: int, settings: dict[str, Any],
                  config_dir: Path | None) -> list[str]:
    """The Voila command line: loopback or ``host``, idle kernels culled as ``settings`` say."""
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               f"--Voila.ip={host}", "--show_tracebacks=False",
               f"--MappingKernelManager.cull_idle_timeout={settings['cull_idle_timeout']}",
               f"--MappingKernelManager.cull_interval={settings['cull_interval']}",
               f"--MappingKernelManager.cull_connected={settings['cull_connected']}"]
    if settings.get("preheat"):  # the notebook waits (voila.utils.wait_for_request) before reading data
        command += ["--preheat_kernel=True", "--VoilaConfiguration.default_pool_size=1"]
    if config_dir is not None:  # the token travels in a private file, never on a command line `ps` shows
        from jupyter_core.paths import jupyter_config_path

        paths = [str(config_dir), str(notebook.parent), *jupyter_config_path()]
        command += [f"--Voila.config_file_paths={path}" for path in paths]
    return command


def quiet_kernels(folder: Path) -> str:
    """An IPython folder whose kernels log only critical errors: a pre-heated kernel stopped while it
    waits for a page would otherwise print a traceback on every shutdown, and a kernel stopped while a
    message is half sent prints one through tornado's logger."""
    profile = folder / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(
        'c.IPKernelApp.log_level = "CRITICAL"\n'
        # ipykernel 7 logs a garbled shell message through tornado when Voila stops mid-send
        'import logging\nlogging.getLogger("tornado").setLevel(logging.CRITICAL)\n')
    return str(folder / "ipython")


def token_config(token: str, folder: Path) -> Path | None:
    """A voila.json readable only by this user that sets Voila's token; None without a token."""
    if not token:
        return None
    folder.chmod(0o700)
    path = folder / "voila.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"Voila": {"token": token}}, handle)
    return folder


class _StopRequested(Exception):
    pass


def run_until_stopped(command: list[str], env: dict[str, str], cwd: Path, grace: float = GRACE_SECONDS) -> int:
    """Run ``command`` in its own session until it ends (its exit code) or a stop signal arrives
    (then stop it and everything it started; 0)."""
    def request_stop(signum: int, _frame: Any) -> None:
        raise _StopRequested(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    process = None
    try:
        process = subprocess.Popen(command, env=env, cwd=str(cwd), start_new_session=True)
        return process.wait()
    except _StopRequested:
        return 0
    finally:
        for sig in STOP_SIGNALS:  # a second signal must not interrupt the clean-up
            signal.signal(sig, signal.SIG_IGN)
        if process is not None and process.poll() is None:
            stop_process_tree(process.pid, grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_process_tree(pid: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM ``pid`` (and its process group), wait up to ``grace`` seconds for it and every
    descendant to end, then SIGKILL whatever is left."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    _signal_group(pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=grace)
    if alive:
        tree = [p for p in alive if p.is_running()]
        for process in tree:
            try:
                tree += process.children(recursive=True)  # started during the grace period
            except psutil.NoSuchProcess:
                pass
        _signal_group(pid, signal.SIGKILL)
        for process in tree:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=grace)
    try:
        os.waitpid(pid, os.WNOHANG)  # reap our child
    except ChildProcessError:
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
