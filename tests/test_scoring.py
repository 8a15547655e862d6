"""riskwatch.scoring: the champion/challenger evaluation on the test data, and its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskwatch.registry import Registry
from riskwatch.metrics import score_model
from riskwatch.scoring import evaluate_challenger
from unit_helpers import SCHEMA, clients, fit

@pytest.fixture(scope="module")
def bad_model():
    """Trained on flipped labels: confidently wrong."""
    data = clients(600, seed=22)
    data["exited"] = 1 - data["exited"]
    return fit(data)


def registry_with(tmp_path: Path, *models) -> Registry:
    registry = Registry(tmp_path / "registry")
    training = clients(50, seed=24)
    for model in models:
        registry.register(model, training, {"run_id": "test"})
    return registry


def write_test_folder(tmp_path: Path, frame) -> Path:
    folder = tmp_path / "testdata"
    folder.mkdir()
    frame.to_csv(folder / "testdata.csv", index=False)
    return folder


def test_evaluate_challenger_without_champion(tmp_path: Path, good_model, test_data) -> None:
    registry = registry_with(tmp_path, good_model)
    folder = write_test_folder(tmp_path, test_data)
    out = tmp_path / "models"
    result = evaluate_challenger(str(registry.root), None, None, str(folder), str(out), SCHEMA)
    expected = score_model(good_model, test_data, SCHEMA)
    assert result["version"] == 1
    assert result["metrics"] == expected
    assert result["champion_metrics"] is None
    assert result["promote"] is True and "no model is deployed yet" in result["gate_reason"]
    assert float((out / "latestscore.txt").read_text()) == expected["f1"]
    scores = json.loads((out / "scores.json").read_text())
    assert scores["version"] == 1 and scores["f1"] == expected["f1"] and scores["promote"] is True
    stored = registry.metrics(1)
    assert stored["f1"] == expected["f1"] and stored["test_data"] == str(folder)


def test_evaluate_challenger_keeps_a_better_champion(tmp_path: Path, good_model, bad_model, test_data) -> None:
    registry = registry_with(tmp_path, good_model, bad_model)  # v1 good, v2 worse
    folder = write_test_folder(tmp_path, test_data)
    result = evaluate_challenger(str(registry.root), 2, 1, str(folder), str(tmp_path / "m"), SCHEMA)
    challenger_f1 = score_model(bad_model, test_data, SCHEMA)["f1"]
    champion_f1 = score_model(good_model, test_data, SCHEMA)["f1"]
    assert challenger_f1 < champion_f1
    assert result["metrics"]["f1"] == challenger_f1
    assert result["champion_metrics"]["f1"] == champion_f1
    assert result["promote"] is False
    assert "keep v1" in result["gate_reason"]
    scores = json.loads((tmp_path / "m" / "scores.json").read_text())
    assert scores["champion_version"] == 1 and scores["champion"]["f1"] == champion_f1
    assert scores["promote"] is False
    # latestscore.txt holds the newly scored version's F1, as the baseline did
    assert float((tmp_path / "m" / "latestscore.txt").read_text()) == challenger_f1


def test_evaluate_challenger_promotes_a_better_challenger_and_applies_min_improvement(
        tmp_path: Path, good_model, bad_model, test_data) -> None:
    registry = registry_with(tmp_path, bad_model, good_model)  # v1 worse, v2 better
    folder = write_test_folder(tmp_path, test_data)
    gap = score_model(good_model, test_data, SCHEMA)["f1"] - score_model(bad_model, test_data, SCHEMA)["f1"]
    assert gap > 0
    promoted = evaluate_challenger(str(registry.root), 2, 1, str(folder), str(tmp_path / "a"), SCHEMA)
    assert promoted["promote"] is True
    demanding = evaluate_challenger(str(registry.root), 2, 1, str(folder), str(tmp_path / "b"), SCHEMA,
                                    min_improvement=gap + 0.01)
    assert demanding["promote"] is False


def test_evaluate_challenger_needs_a_model(tmp_path: Path, test_data) -> None:
    folder = write_test_folder(tmp_path, test_data)
    with pytest.raises(ValueError, match="no model in the registry"):
        evaluate_challenger(str(tmp_path / "registry"), None, None, str(folder), str(tmp_path / "m"), SCHEMA)
