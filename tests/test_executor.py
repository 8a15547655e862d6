"""riskwatch.executor: a stage notebook through a real papermill kernel; every failure is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.cycle import ALWAYS, CycleState
from riskwatch.executor import StageFailed, execute_stage
from riskwatch.stages import Stage

pytestmark = pytest.mark.integration
PROBES = REPO / "tests" / "notebooks"


def probe(notebook: str, parameters: dict | None = None, scraps: tuple[str, ...] = ()) -> Stage:
    return Stage("probe", notebook, "test", ALWAYS, parameters or {"message": "run.run_id"}, scraps)


@pytest.mark.parametrize("notebook, expected", [
    ("raises.ipynb", "ValueError: boom: hello"),
    ("sleeps.ipynb", "CellTimeoutError"),
    ("dies.ipynb", "DeadKernelError"),
    ("unfinished.ipynb", "without glueing its 'stage_finished' scrap"),
])
def test_stage_failures_are_caught_and_the_notebook_kept(project: Path, tmp_path: Path,
                                                         notebook: str, expected: str) -> None:
    cfg = load_config(project)
    cfg = type(cfg)(**{**cfg.__dict__, "runtime": {**cfg.runtime, "execution_timeout": 3}})
    state = CycleState(run_id="hello", run_dir=tmp_path / "run")
    state.run_dir.mkdir()
    with pytest.raises(StageFailed) as caught:
        execute_stage(probe(notebook), cfg, state, notebooks_folder=PROBES)
    assert expected in caught.value.reason
    assert caught.value.notebook_path == state.run_dir / notebook
    assert caught.value.notebook_path.is_file()
    assert caught.value.seconds > 0 and caught.value.started_at
    if notebook == "raises.ipynb":
        assert caught.value.scraps["before_failure"] == 1  # glued before the failure, still read


def test_parameters_are_checked_scraps_read_and_declared_scraps_required(project: Path, tmp_path: Path) -> None:
    cfg = load_config(project)
    state = CycleState(run_id="hi there", run_dir=tmp_path)
    done = execute_stage(probe("finishes.ipynb", scraps=("echo",)), cfg, state, notebooks_folder=PROBES)
    assert done.scraps == {"echo": "hi there", "stage_finished": True}
    assert done.notebook == tmp_path / "finishes.ipynb" and done.seconds > 0
    with pytest.raises(StageFailed, match="unknown parameter"):
        execute_stage(probe("finishes.ipynb", {"mesage": "run.run_id"}), cfg, state, notebooks_folder=PROBES)
    with pytest.raises(StageFailed, match="did not glue the scrap.* its stage declares: verdict"):
        execute_stage(probe("finishes.ipynb", scraps=("echo", "verdict")), cfg, state, notebooks_folder=PROBES)
