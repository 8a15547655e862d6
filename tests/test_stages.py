"""The stage list as data."""

from pathlib import Path

from conftest import REPO
from riskwatch.config import load_config
from riskwatch.stages import STAGES, RunContext


def test_stage_names_unique_and_notebooks_in_run_order() -> None:
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names))
    notebooks = [s.notebook for s in STAGES]
    assert notebooks == sorted(notebooks)


def test_parameters_are_plain_values_from_config(tmp_path: Path) -> None:
    cfg = load_config(REPO / "config.json", "production")
    ctx = RunContext(run_id="r1", run_dir=tmp_path, production_version=3, model_version=4)
    by_name = {s.name: s.parameters(cfg, ctx) for s in STAGES}
    assert by_name["ingestion"]["input_folder"] == str(REPO / "data" / "sourcedata")
    assert by_name["ingestion"]["batch_path"] == str(tmp_path / "batch.parquet")
    assert by_name["drift"]["deployed_version"] == 3
    assert by_name["scoring"]["model_version"] == 4 and by_name["scoring"]["champion_version"] == 3
    assert by_name["training"]["estimator_params"] == {"C": 1.0, "solver": "liblinear", "random_state": 0}
    for params in by_name.values():
        for value in params.values():
            assert isinstance(value, (str, int, float, bool, list, dict, type(None)))
