"""riskwatch.registry: numbered versions, integrity checks, staging clean-up, status and pointer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.newdata import file_sha256
from riskwatch.layout import VERSION_ARTIFACT as ARTIFACT, VERSION_TRAINING_DATA as TRAINING_DATA
from riskwatch.registry import Registry, RegistryError
from unit_helpers import SCHEMA, clients, fit

FEATURES = list(SCHEMA.features)


@pytest.fixture(scope="module")
def trained():
    data = clients(200, seed=31)
    return fit(data), data


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


def test_empty_registry(registry: Registry) -> None:
    assert registry.versions() == []
    assert registry.production() is None and registry.production_version() is None
    assert registry.remove_incomplete() == []
    with pytest.raises(RegistryError, match="not in the registry"):
        registry.metadata(1)
    with pytest.raises(RegistryError):
        registry.check(1)


def test_register_numbers_versions(registry: Registry, trained) -> None:
    model, data = trained
    assert registry.register(model, data, {"run_id": "a"}) == 1
    assert registry.register(model, data, {"run_id": "b"}) == 2
    assert registry.versions() == [1, 2]
    assert sorted(p.name for p in registry.root.iterdir()) == ["v0001", "v0002"]
    assert registry.metadata(2)["run_id"] == "b" and registry.metadata(2)["version"] == 2


def test_register_writes_a_complete_version(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {"run_id": "r1", "note": "hello"})
    folder = registry.path(version)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [ARTIFACT, TRAINING_DATA, "metadata.json", "status.json"])
    meta = registry.metadata(version)
    assert meta["artifact"] == ARTIFACT
    assert meta["artifact_sha256"] == file_sha256(folder / ARTIFACT)
    assert meta["training_rows"] == len(data)
    assert meta["note"] == "hello" and meta["created_at"]
    assert meta["packages"]["scikit-learn"] not in ("", "not installed")
    pd.testing.assert_frame_equal(pd.read_parquet(registry.training_data_path(version)), data)
    loaded = registry.load_model(version)
    np.testing.assert_allclose(loaded.predict_proba(data[FEATURES]), model.predict_proba(data[FEATURES]))
    assert registry.status(version)["status"] == "candidate"
    assert registry.metrics(version) is None
    assert registry.check(version) == folder / ARTIFACT


def test_artifact_tamper_is_refused(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {})
    with open(registry.path(version) / ARTIFACT, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(RegistryError, match="hash does not match"):
        registry.check(version)
    with pytest.raises(RegistryError, match="hash does not match"):
        registry.load_model(version)


def test_missing_artifact_is_refused(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {})
    (registry.path(version) / ARTIFACT).unlink()
    with pytest.raises(RegistryError, match="no artifact"):
        registry.load_model(version)


def test_remove_incomplete_deletes_staging_folders(registry: Registry, trained) -> None:
    model, data = trained
    registry.register(model, data, {})
    partials = [registry.root / ".v0002.partial-12345", registry.root / ".v0003.partial-999"]
    for p in partials:
        p.mkdir()
        (p / ARTIFACT).write_bytes(b"half")
    keep = registry.root / "notes"
    keep.mkdir()
    assert registry.versions() == [1]  # staging folders are never versions
    assert sorted(registry.remove_incomplete()) == sorted(p.name for p in partials)
    assert not any(p.exists() for p in partials)
    assert keep.is_dir() and registry.path(1).is_dir()


def test_register_cleans_up_and_continues_numbering(registry: Registry, trained) -> None:
    model, data = trained
    registry.register(model, data, {})
    (registry.root / ".v0002.partial-4242").mkdir()
    assert registry.register(model, data, {}) == 2
    assert not (registry.root / ".v0002.partial-4242").exists()


def test_folders_without_metadata_are_not_versions(registry: Registry, trained) -> None:
    model, data = trained
    registry.register(model, data, {})
    (registry.root / "v0007").mkdir()
    (registry.root / "v12").mkdir()
    assert registry.versions() == [1]


def test_status_set_and_read(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {})
    registry.set_status(version, "rejected", "below the champion", run_id="r9")
    status = registry.status(version)
    assert status["status"] == "rejected" and status["reason"] == "below the champion"
    assert status["run_id"] == "r9" and status["at"]
    registry.set_status(version, "accepted", "better")
    assert registry.status(version)["status"] == "accepted"
    with pytest.raises(ValueError, match="unknown status"):
        registry.set_status(version, "great", "why not")
    assert registry.status(version)["status"] == "accepted"
    (registry.path(version) / "status.json").unlink()
    assert registry.status(version)["status"] == "unknown"


def test_metrics_round_trip(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {})
    registry.write_metrics(version, {"f1": 0.625, "n": 12})
    assert registry.metrics(version) == {"f1": 0.625, "n": 12}


def test_set_production_writes_pointer_with_previous_version(registry: Registry, trained) -> None:
    model, data = trained
    v1 = registry.register(model, data, {})
    v2 = registry.register(model, data, {})
    first = registry.set_production(v1, "run-1")
    assert first["version"] == v1 and first["previous_version"] is None and first["run_id"] == "run-1"
    assert first["action"] == "deploy"
    second = registry.set_production(v2, "run-2", action="rollback")
    assert second["previous_version"] == v1 and second["action"] == "rollback"
    assert json.loads(registry.pointer_path.read_text()) == second == registry.production()
    assert registry.production_version() == v2
    assert registry.describe(v2)["in_production"] is True
    assert registry.describe(v1)["in_production"] is False


def test_set_production_refuses_a_broken_version_and_keeps_the_pointer(registry: Registry, trained) -> None:
    model, data = trained
    v1 = registry.register(model, data, {})
    v2 = registry.register(model, data, {})
    registry.set_production(v1, "run-1")
    (registry.path(v2) / ARTIFACT).write_bytes(b"not a model")
    with pytest.raises(RegistryError):
        registry.set_production(v2, "run-2")
    with pytest.raises(RegistryError):
        registry.set_production(99, "run-3")
    assert registry.production_version() == v1


def test_describe_merges_everything(registry: Registry, trained) -> None:
    model, data = trained
    version = registry.register(model, data, {"run_id": "x"})
    registry.write_metrics(version, {"f1": 0.5})
    described = registry.describe(version)
    assert described["run_id"] == "x" and described["metrics"] == {"f1": 0.5}
    assert described["status"]["status"] == "candidate" and described["in_production"] is False
