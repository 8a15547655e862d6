"""riskwatch.deployment: deploying a registry version and keeping the baseline's production folder
(trainedmodel.pkl, latestscore.txt, ingestedfiles.txt) in step with the pointer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskwatch.deployment import deploy_to_production, deploy_version, sync_production_folder
from riskwatch.layout import DEPLOYMENT_INFO as INFO_FILE
from riskwatch.layout import INGESTED_LIST as RECORD_FILE
from riskwatch.layout import LATEST_SCORE as SCORE_FILE
from riskwatch.layout import TRAINED_MODEL as MODEL_FILE
from riskwatch.layout import latest_score_text as format_score
from riskwatch.newdata import file_sha256
from riskwatch.registry import Registry, RegistryError
from unit_helpers import clients, fit

TRAINING_FILES = [{"name": "dataset1.csv", "sha256": "a" * 64, "rows": 10, "ingested_at": "t"},
                  {"name": "dataset2.csv", "sha256": "b" * 64, "rows": 12, "ingested_at": "t"}]


@pytest.fixture(scope="module")
def models():
    one = clients(150, seed=41)
    two = clients(150, seed=42)
    return (fit(one), one), (fit(two), two)


@pytest.fixture
def registry(tmp_path: Path, models) -> Registry:
    """v1 scored (F1 0.61...), v2 scored with different training files."""
    registry = Registry(tmp_path / "registry")
    (m1, d1), (m2, d2) = models
    registry.register(m1, d1, {"training_files": TRAINING_FILES})
    registry.write_metrics(1, {"f1": 0.6153846153846154})
    registry.register(m2, d2, {"training_files": TRAINING_FILES[:1]})
    registry.write_metrics(2, {"f1": 0.5})
    return registry


def test_deploy_version_writes_the_baseline_files(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    pointer = deploy_version(registry, 1, prod, "run-1")
    assert pointer == registry.production() and pointer["version"] == 1
    assert file_sha256(prod / MODEL_FILE) == file_sha256(registry.check(1)) == registry.metadata(1)["artifact_sha256"]
    assert (prod / SCORE_FILE).read_text() == format_score(registry.metrics(1)["f1"])
    assert float((prod / SCORE_FILE).read_text()) == registry.metrics(1)["f1"]
    assert (prod / RECORD_FILE).read_text().splitlines() == [f["name"] for f in TRAINING_FILES]
    info = json.loads((prod / INFO_FILE).read_text())
    assert info["version"] == 1 and info["artifact_sha256"] == registry.metadata(1)["artifact_sha256"]
    assert info["f1"] == registry.metrics(1)["f1"] and info["pointer"] == pointer
    assert not [p for p in prod.iterdir() if p.name.startswith(".")]  # no temp files left


def test_deploying_another_version_replaces_every_file(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    deploy_version(registry, 1, prod, "run-1")
    pointer = deploy_version(registry, 2, prod, "run-2")
    assert pointer["previous_version"] == 1
    assert file_sha256(prod / MODEL_FILE) == registry.metadata(2)["artifact_sha256"]
    assert registry.metadata(1)["artifact_sha256"] != registry.metadata(2)["artifact_sha256"]
    assert float((prod / SCORE_FILE).read_text()) == registry.metrics(2)["f1"]
    assert (prod / RECORD_FILE).read_text().splitlines() == ["dataset1.csv"]


def test_sync_is_a_no_op_when_in_step(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    deploy_version(registry, 1, prod, "run-1")
    mtimes = {p.name: p.stat().st_mtime_ns for p in prod.iterdir()}
    assert sync_production_folder(registry, prod) is False
    assert {p.name: p.stat().st_mtime_ns for p in prod.iterdir()} == mtimes


@pytest.mark.parametrize("damage", ["replace", "delete", "delete_info", "corrupt_info", "delete_score"])
def test_sync_repairs_a_damaged_folder(registry: Registry, tmp_path: Path, damage: str) -> None:
    prod = tmp_path / "prod"
    deploy_version(registry, 1, prod, "run-1")
    expected = {name: (prod / name).read_bytes() for name in (MODEL_FILE, SCORE_FILE, RECORD_FILE)}
    if damage == "replace":
        (prod / MODEL_FILE).write_bytes(registry.check(2).read_bytes())  # someone copied the wrong model in
    elif damage == "delete":
        (prod / MODEL_FILE).unlink()
    elif damage == "delete_info":
        (prod / INFO_FILE).unlink()
    elif damage == "corrupt_info":
        (prod / INFO_FILE).write_text("{")
    else:
        (prod / SCORE_FILE).unlink()
    assert sync_production_folder(registry, prod) is True
    assert {name: (prod / name).read_bytes() for name in expected} == expected
    assert json.loads((prod / INFO_FILE).read_text())["version"] == 1
    assert sync_production_folder(registry, prod) is False


def test_sync_finishes_a_deployment_interrupted_after_the_pointer(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    deploy_version(registry, 1, prod, "run-1")
    registry.set_production(2, "run-2")  # crash here: pointer switched, folder not yet synced
    assert sync_production_folder(registry, prod) is True
    assert file_sha256(prod / MODEL_FILE) == registry.metadata(2)["artifact_sha256"]
    assert float((prod / SCORE_FILE).read_text()) == registry.metrics(2)["f1"]


def test_sync_without_production_does_nothing(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    assert sync_production_folder(registry, prod) is False
    assert not prod.exists()


def test_sync_refuses_a_tampered_registry_artifact(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    registry.set_production(1, "run-1")
    with open(registry.check(1), "ab") as handle:
        handle.write(b"x")
    with pytest.raises(RegistryError):
        sync_production_folder(registry, prod)
    assert not (prod / MODEL_FILE).exists()


def test_deploy_to_production_deploys_the_newest_and_leaves_status_to_the_recorder(
        registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    pointer = deploy_to_production(registry.root, None, prod, "run-7")
    assert pointer["version"] == 2 == registry.production_version()
    assert registry.production()["run_id"] == "run-7"
    assert registry.status(2)["status"] == registry.status(1)["status"] == "candidate"
    assert file_sha256(prod / MODEL_FILE) == registry.metadata(2)["artifact_sha256"]
    deploy_to_production(registry.root, 1, prod, "run-8")
    assert registry.production()["previous_version"] == 2
    assert file_sha256(prod / MODEL_FILE) == registry.metadata(1)["artifact_sha256"]


def test_deploy_to_production_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no model in the registry"):
        deploy_to_production(tmp_path / "registry", None, tmp_path / "prod", "run-1")


def test_unscored_version_does_not_inherit_the_previous_score(registry: Registry, tmp_path: Path, models) -> None:
    prod = tmp_path / "prod"
    deploy_version(registry, 1, prod, "run-1")
    (m, d), _ = models
    unscored = registry.register(m, d, {"training_files": []})
    deploy_version(registry, unscored, prod, "rollback", action="rollback")
    assert file_sha256(prod / MODEL_FILE) == registry.metadata(unscored)["artifact_sha256"]
    stale = format_score(registry.metrics(1)["f1"])
    assert not (prod / SCORE_FILE).exists() or (prod / SCORE_FILE).read_text() != stale
