"""riskwatch.kernel_forks: kernels forked from one process that imported once, through real
papermill kernels — a forked kernel is indistinguishable from a new one to the notebook it runs,
is interrupted, ends and dies like one, and none outlives its runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.cycle import ALWAYS, CycleState
from riskwatch.executor import KERNEL_ARGUMENTS, StageFailed, execute_stage, kernel_environment
from riskwatch.kernel_forks import ForkedKernel, ForkServer, _is_this_python_kernel
from riskwatch.kernels import KernelPool
from riskwatch.stages import Stage

pytestmark = pytest.mark.integration
PROBES = REPO / "tests" / "notebooks"
# What a notebook can see of the process it runs in, glued as one scrap.
LOOK = """
import os, sys, json
import matplotlib.pyplot as plt
plt.plot([1, 2], [3, 4])
from riskwatch.scraps import glue
glue("look", json.dumps({"cwd": os.getcwd(), "path": sys.path, "argv0": os.path.basename(sys.argv[0]),
                         "backend": plt.get_backend(), "env": {k: v for k, v in os.environ.items()
                                                               if k not in ("JPY_PARENT_PID", "JPY_SESSION_NAME")},
                         "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "main": __name__}))
glue("stage_finished", True)
"""


def probe(folder: Path) -> Stage:
    parameters = new_code_cell("message = ''")
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[parameters, new_code_cell(LOOK)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, folder / "look.ipynb")
    return Stage("probe", "look.ipynb", "test", ALWAYS, {"message": "run.run_id"}, ("look",))


def run_probe(cfg, state: CycleState, folder: Path, fork: bool) -> tuple[dict, list, int | None]:
    """The probe's look, its code cells' outputs, and the fork server's pid (None without one)."""
    pool = KernelPool("python3", state.run_dir, 60, KERNEL_ARGUMENTS, ahead=1, fork=fork)
    server = pool._server.process.pid if pool._server is not None else None
    try:
        km = pool.take()
        assert km is not None
        done = execute_stage(probe(folder), cfg, state, notebooks_folder=folder, km=km)
        pool.release(km)
    finally:
        pool.close()
    cells = [c for c in json.loads(done.notebook.read_text())["cells"] if c["cell_type"] == "code"]
    outputs = [(c["execution_count"], [(o["output_type"], sorted(o.get("data", {}))) for o in c["outputs"]])
               for c in cells]
    return json.loads(done.scraps["look"]), outputs, server


def test_a_forked_kernel_looks_to_its_notebook_like_a_new_one(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    kernel_environment(cfg)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    looks = {}
    for fork in (False, True):
        state = CycleState(run_id="look", run_dir=tmp_path / f"run-{fork}")
        state.run_dir.mkdir()
        looks[fork] = run_probe(cfg, state, folder, fork)
    (new, new_outputs, _), (forked, forked_outputs, server) = looks[False], looks[True]
    assert server is not None and forked["ppid"] == server and new["ppid"] == os.getpid()
    assert forked["pgid"] == forked["pid"]               # a session of its own, as a started kernel has
    assert forked_outputs == new_outputs                 # same cells, counts from 1, the figure drawn inline
    assert any("image/png" in kinds for _, outputs in forked_outputs for _, kinds in outputs)
    assert forked["cwd"] == str(tmp_path / "run-True") and new["cwd"] == str(tmp_path / "run-False")
    for key in ("argv0", "backend", "main"):
        assert forked[key] == new[key], key
    same_path = [p.replace("run-False", "run-True") for p in new["path"]]
    assert forked["path"] == same_path
    assert forked["env"] == new["env"]


def test_a_forked_kernel_is_interrupted_and_dies_like_a_new_one(project: Path, tmp_path: Path) -> None:
    config = json.loads(project.read_text())
    config["runtime"] = {**config.get("runtime", {}), "execution_timeout": 3}
    project.write_text(json.dumps(config))
    cfg = load_config(project)
    kernel_environment(cfg)
    state = CycleState(run_id="x", run_dir=tmp_path / "run")
    state.run_dir.mkdir()
    pool = KernelPool("python3", state.run_dir, 60, KERNEL_ARGUMENTS, ahead=1, fork=True)
    try:
        for name, error in (("sleeps.ipynb", "CellTimeoutError"), ("dies.ipynb", "DeadKernelError")):
            km = pool.take()
            assert isinstance(km.provisioner.process, ForkedKernel)
            start = time.monotonic()
            with pytest.raises(StageFailed, match=error):
                execute_stage(Stage("probe", name, "test", ALWAYS, {}), cfg, state, notebooks_folder=PROBES, km=km)
            assert time.monotonic() - start < 30
            pool.release(km)
    finally:
        pool.close()
    assert pool._server.process.returncode == 0


def test_without_its_server_a_kernel_starts_the_usual_way(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    kernel_environment(cfg)
    state = CycleState(run_id="fallback", run_dir=tmp_path / "run")
    state.run_dir.mkdir()
    pool = KernelPool("python3", state.run_dir, 60, KERNEL_ARGUMENTS, ahead=1, fork=True)
    os.kill(pool._server.process.pid, signal.SIGKILL)
    pool._server.process.wait()
    try:
        km = pool.take()
        assert km is not None and not isinstance(km.provisioner.process, ForkedKernel)
        done = execute_stage(Stage("probe", "finishes.ipynb", "test", ALWAYS, {"message": "run.run_id"},
                                   ("echo",)), cfg, state, notebooks_folder=PROBES, km=km)
        pool.release(km)
    finally:
        pool.close()
    assert done.scraps["echo"] == "fallback"


def test_a_stuck_fork_server_is_stopped_and_the_kernel_starts_the_usual_way(project: Path, tmp_path: Path) -> None:
    """An import that never ends in the server costs one start timeout, not the cycle."""
    stuck = "if __name__ == 'builtins':  # only in the server, which runs preloads in a bare namespace\n" \
            "    import time\n    time.sleep(600)"
    # The start timeout bounds the wait for the server, and then the start of the usual kernel.
    pool = KernelPool("python3", tmp_path, 10, KERNEL_ARGUMENTS, [stuck], ahead=1, fork=True)
    start = time.monotonic()
    try:
        km = pool.take()
        assert km is not None and not isinstance(km.provisioner.process, ForkedKernel)
        assert pool._server.process.poll() is not None  # stopped
        pool.release(km)
    finally:
        pool.close()
    assert time.monotonic() - start < 30


def test_no_forked_kernel_outlives_a_killed_runner(project: Path, tmp_path: Path) -> None:
    """A runner killed outright (cron's timeout, the OOM killer) leaves neither server nor kernel."""
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from riskwatch.kernels import KernelPool
        from riskwatch.executor import KERNEL_ARGUMENTS
        pool = KernelPool("python3", {str(tmp_path)!r}, 60, KERNEL_ARGUMENTS, ahead=2, fork=True)
        kms = [pool.take(), pool.take()]
        print(pool._server.process.pid, *[km.provisioner.pid for km in kms], flush=True)
        time.sleep(120)
    """)
    runner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in runner.stdout.readline().split()]
    assert len(pids) == 3 and all(ForkedKernel(pid).poll() is None for pid in pids)
    runner.kill()
    runner.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(ForkedKernel(pid).poll() is None for pid in pids):
        time.sleep(0.2)
    assert [pid for pid in pids if ForkedKernel(pid).poll() is None] == []


def test_the_server_imports_what_comes_next_while_nobody_waits(tmp_path: Path) -> None:
    """What the coming kernels import is done in the server before they are asked for."""
    marks = [tmp_path / f"mark{i}" for i in range(2)]
    ahead = [f"import os\nopen({str(mark)!r}, 'w').write(str(os.getpid()))" for mark in marks]
    server = ForkServer(tmp_path, 30, ahead)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(mark.exists() for mark in marks):
            time.sleep(0.05)
        assert [mark.read_text() for mark in marks] == [str(server.process.pid)] * 2
    finally:
        server.close()
    assert server.process.returncode == 0


def test_only_this_pythons_ipykernel_is_forked() -> None:
    assert _is_this_python_kernel([sys.executable, "-m", "ipykernel_launcher", "-f", "c.json"])
    assert not _is_this_python_kernel([sys.executable, "-m", "other_kernel", "-f", "c.json"])
    assert not _is_this_python_kernel(["/usr/bin/env", "-m", "ipykernel_launcher", "-f", "c.json"])
    assert not _is_this_python_kernel([])
