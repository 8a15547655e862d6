"""The committed stage notebooks: clean, parameterized, and in step with the stage list."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.cycle import CycleState
from riskwatch.stages import STAGES

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_stage_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    for stage in STAGES:
        assert stage.notebook in names
    assert {"01_ingestion.ipynb", "02_training.ipynb", "03_scoring.ipynb", "04_deployment.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS + sorted((REPO / "tests" / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_committed_without_outputs_and_with_one_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_runner_parameters_match_the_notebook(stage, tmp_path: Path) -> None:
    """Every parameter the runner passes is declared in the notebook and vice versa, so an
    analyst's defaults cover everything the runner sets."""
    declared = set(papermill.inspect_notebook(str(REPO / "notebooks" / stage.notebook)))
    cfg = load_config(REPO / "config.json")
    passed = set(stage.resolve(cfg, CycleState(run_id="x", run_dir=tmp_path)))
    assert passed == declared


def test_stage_results_are_glued_in_cells_the_report_hides() -> None:
    for path in NOTEBOOKS:
        if path.name == "dashboard.ipynb":
            continue
        notebook = nbformat.read(path, as_version=4)
        glue_cells = [c for c in notebook.cells if "stage_finished=True" in c.source]
        assert len(glue_cells) == 1, path.name
        assert "remove_cell" in glue_cells[0].metadata.get("tags", []), path.name
        assert notebook.cells[-1] is glue_cells[0], f"{path.name}: stage_finished must be glued last"


def _snapshot(root: Path) -> dict[str, str]:
    """Hash of every file of the project except the analysts' scratch area and the ledger's
    SQLite files (compared by content instead: a reader may checkpoint the WAL)."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()
            and not p.is_relative_to(root / "outputs" / "scratch") and "ledger.sqlite" not in p.name
            and not p.is_relative_to(root / "outputs" / ".cache")}


def _ledger_rows(path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return list(db.iterdump())


@pytest.mark.integration
def test_an_analyst_running_every_notebook_with_its_defaults_writes_only_to_scratch(tmp_path: Path) -> None:
    """After a real cycle, every stage notebook run in order with its own defaults (cwd = the
    project's notebooks folder, as Jupyter does) leaves the registry, production, ingested data,
    quarantine, runs and ledger exactly as they were: everything it writes is in outputs/scratch."""
    import shutil

    from conftest import make_project, run_runner
    from riskwatch.registry import Registry

    config = make_project(tmp_path / "project")
    root = config.parent
    assert run_runner(config, "run").returncode == 0
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    before, ledger_before = _snapshot(root), _ledger_rows(root / "outputs" / "ledger.sqlite")
    versions_before = Registry(root / "models" / "registry").versions()
    for stage in STAGES:
        papermill.execute_notebook(str(root / "notebooks" / stage.notebook), str(tmp_path / stage.notebook),
                                   kernel_name="python3", cwd=str(root / "notebooks"), progress_bar=False,
                                   execution_timeout=300)
    assert Registry(root / "models" / "registry").versions() == versions_before
    assert _snapshot(root) == before
    assert _ledger_rows(root / "outputs" / "ledger.sqlite") == ledger_before
    scratch = root / "outputs" / "scratch"
    assert Registry(scratch / "registry").production_version() == 1  # the analyst's own deployment
    assert (scratch / "models" / "trainedmodel.pkl").is_file() and (scratch / "risk_scores.csv").is_file()
