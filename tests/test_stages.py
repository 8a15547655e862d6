"""riskwatch.stages: the stage list as data — parameters resolve, scraps are glued, README agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.cycle import CycleState
from riskwatch.cycle import Decide
from riskwatch.stages import STAGES, Stage, resolve, side_by_side, stage_table


def full_state(tmp_path: Path) -> CycleState:
    return CycleState(run_id="r1", run_dir=tmp_path, production_version=3, new_files=[{"name": "a.csv"}],
                      redo_hashes=["ab"], score_history=[0.5, 0.6], model_version=4)


def test_stage_names_unique_and_notebooks_in_run_order() -> None:
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names))
    notebooks = [s.notebook for s in STAGES]
    assert notebooks == sorted(notebooks)


def test_parameters_are_plain_values_from_config_and_state(tmp_path: Path) -> None:
    cfg = load_config(REPO / "config.json", "production")
    by_name = {s.name: s.resolve(cfg, full_state(tmp_path)) for s in STAGES}
    assert by_name["ingestion"]["input_folder"] == str(REPO / "data" / "sourcedata")
    assert by_name["ingestion"]["batch_path"] == str(tmp_path / "batch.parquet")
    assert by_name["ingestion"]["numeric_features"] == list(cfg.schema.numeric_features)
    assert by_name["drift"]["deployed_version"] == 3 and by_name["drift"]["score_history"] == [0.5, 0.6]
    assert by_name["drift"]["score_rule"] == cfg.decision["score_rule"]
    assert by_name["scoring"]["model_version"] == 4 and by_name["scoring"]["champion_version"] == 3
    assert by_name["training"]["estimator_params"] == {"C": 1.0, "solver": "liblinear", "random_state": 0}
    assert by_name["reporting"]["outcome"] == "no-retrain" and by_name["reporting"]["decisions"] == {}
    for params in by_name.values():
        json.dumps(params)  # plain JSON values only


def test_a_bad_parameter_source_names_itself(tmp_path: Path) -> None:
    cfg = load_config(REPO / "config.json")
    with pytest.raises(ValueError, match="must start with 'config.' or 'run.'"):
        resolve("settings.mode", cfg, full_state(tmp_path))
    with pytest.raises(AttributeError):
        resolve("run.no_such_field", cfg, full_state(tmp_path))


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_declared_scraps_are_glued_by_the_notebook(stage: Stage) -> None:
    source = (REPO / "notebooks" / stage.notebook).read_text()
    for scrap in stage.scraps:
        assert f"{scrap}=" in source, f"{stage.notebook} does not glue {scrap!r}"


def test_readme_stage_table_is_the_stage_list() -> None:
    assert stage_table() in (REPO / "README.md").read_text()


def test_absolute_notebook_paths_are_kept(tmp_path: Path) -> None:
    stage = Stage("x", str(tmp_path / "x.ipynb"), "x", STAGES[0].runs_when, {})
    assert stage.notebook_path(REPO / "notebooks") == tmp_path / "x.ipynb"
    assert STAGES[0].notebook_path(REPO / "notebooks") == REPO / "notebooks" / "01_ingestion.ipynb"


def test_stages_declared_side_by_side_run_together_and_only_when_adjacent() -> None:
    groups = [[s.name for s in group] for group in side_by_side(STAGES)]
    assert ["drift", "labels"] in groups and ["risk", "diagnostics"] in groups
    assert [name for group in groups for name in group] == [s.name for s in STAGES]  # order kept
    at = [s.name for s in STAGES].index("diagnostics")
    wedged = STAGES[:at] + (Stage("extra", "99_extra.ipynb", "test", STAGES[0].runs_when, {}),) + STAGES[at:]
    assert ["risk", "extra"] not in [[s.name for s in g] for g in side_by_side(wedged)]
    assert ["diagnostics"] in [[s.name for s in g] for g in side_by_side(wedged)]  # then it runs after extra


def test_stages_side_by_side_neither_read_what_the_other_writes() -> None:
    """What the stage list says each stage reads and writes: a stage beside another may not read
    what that one writes (nor write what it reads), and its condition may not be a decision."""
    by_name = {s.name: s for s in STAGES}
    pairs = [(s, by_name[s.beside]) for s in STAGES if s.beside]
    assert pairs
    for a, b in pairs:
        assert not set(a.reads) & set(b.writes) and not set(b.reads) & set(a.writes), (a.name, b.name)
        assert not isinstance(a.runs_when, Decide) and not isinstance(b.runs_when, Decide)
