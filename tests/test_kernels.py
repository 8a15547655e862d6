"""riskwatch.kernels: stage kernels started ahead, with their imports done, through real papermill
kernels — a warm kernel runs a stage exactly as a fresh one would, serves one notebook only, and
a stage after a failure gets a kernel that never saw the failed notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.cycle import ALWAYS, CycleState
from riskwatch.executor import KERNEL_ARGUMENTS, StageFailed, execute_stage, kernel_environment
from riskwatch.kernels import KernelPool, imports_of
from riskwatch.stages import Stage

pytestmark = pytest.mark.integration
PROBES = REPO / "tests" / "notebooks"


def notebook(folder: Path, name: str, *sources: str) -> str:
    parameters = new_code_cell("message = ''")
    parameters.metadata["tags"] = ["parameters"]
    cells = [parameters] + [new_code_cell(s) for s in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, folder / name)
    return name


def stage(name: str) -> Stage:
    return Stage("probe", name, "test", ALWAYS, {"message": "run.run_id"})


def test_a_warm_kernel_runs_a_stage_as_a_fresh_one_would(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    state = CycleState(run_id="warm", run_dir=tmp_path / "run")
    state.run_dir.mkdir()
    kernel_environment(cfg)
    pool = KernelPool("python3", state.run_dir, 60, KERNEL_ARGUMENTS, ahead=1)
    try:
        km = pool.take()
        assert km is not None and km.has_kernel
        done = execute_stage(Stage("probe", "finishes.ipynb", "test", ALWAYS, {"message": "run.run_id"}, ("echo",)),
                             cfg, state, notebooks_folder=PROBES, km=km)
        assert done.scraps["echo"] == "warm"
        executed = json.loads(done.notebook.read_text())
        counts = [c["execution_count"] for c in executed["cells"] if c["cell_type"] == "code"]
        assert counts == list(range(1, len(counts) + 1))  # the silent warm-up left no trace
        pool.release(km)
    finally:
        pool.close()
    assert not km.has_kernel or not _alive(km)


@pytest.mark.parametrize("fork", [False, True], ids=["started", "forked"])
def test_each_kernel_serves_one_notebook_even_after_a_failure(project: Path, tmp_path: Path, fork: bool) -> None:
    cfg = load_config(project)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    fails = notebook(folder, "fails.ipynb", "secret = 42\nimport os\nfrom riskwatch.scraps import glue\n"
                     "glue('pid', os.getpid())", "raise ValueError('boom')")
    looks = notebook(folder, "looks.ipynb", "from riskwatch.scraps import glue\nimport os, sys\n"
                     "glue('leaked', 'secret' in globals())\nglue('pid', os.getpid())\n"
                     "glue('preloaded', 'sklearn.pipeline' in sys.modules)",   # imported ahead, for the cell below
                     "import sklearn.pipeline\nglue('stage_finished', True)")
    state = CycleState(run_id="x", run_dir=tmp_path / "run")
    state.run_dir.mkdir()
    kernel_environment(cfg)
    pool = KernelPool("python3", state.run_dir, 60, KERNEL_ARGUMENTS,
                      [imports_of(folder / fails), imports_of(folder / looks)], ahead=2, fork=fork)
    try:
        first = pool.take()
        with pytest.raises(StageFailed, match="boom") as failed:
            execute_stage(stage(fails), cfg, state, notebooks_folder=folder, km=first)
        pool.release(first)
        second = pool.take()
        assert second is not first
        done = execute_stage(stage(looks), cfg, state, notebooks_folder=folder, km=second)
        pool.release(second)
    finally:
        pool.close()
    assert done.scraps["leaked"] is False          # a fresh kernel: nothing of the failed notebook
    assert done.scraps["preloaded"] is True        # …with its imports done ahead
    assert done.scraps["pid"] != failed.value.scraps["pid"]


def _alive(km) -> bool:
    import asyncio

    return asyncio.run(km.is_alive())
