"""riskwatch.scoring: per-client predictions, metrics and the champion/challenger evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

from riskwatch.registry import Registry
from riskwatch.scoring import evaluate_challenger, predict_risk, score_model
from unit_helpers import SCHEMA, clients, fit

FEATURES = list(SCHEMA.features)


@pytest.fixture(scope="module")
def good_model():
    return fit(clients(600, seed=21))


@pytest.fixture(scope="module")
def bad_model():
    """Trained on flipped labels: confidently wrong."""
    data = clients(600, seed=22)
    data["exited"] = 1 - data["exited"]
    return fit(data)


@pytest.fixture(scope="module")
def test_data():
    return clients(400, seed=23)


def test_predict_risk_one_row_per_client(good_model, test_data) -> None:
    out = predict_risk(good_model, test_data, SCHEMA)
    assert list(out.columns) == ["corporation", "predicted", "probability"]
    assert out["corporation"].tolist() == test_data["corporation"].tolist()
    np.testing.assert_array_equal(out["predicted"], good_model.predict(test_data[FEATURES]))
    np.testing.assert_allclose(out["probability"], good_model.predict_proba(test_data[FEATURES])[:, 1])
    assert out["predicted"].dtype.kind == "i"
    assert out["probability"].between(0, 1).all()


def test_score_model_matches_sklearn_metrics(good_model, test_data) -> None:
    metrics = score_model(good_model, test_data, SCHEMA)
    y = test_data["exited"].to_numpy()
    pred = good_model.predict(test_data[FEATURES])
    proba = good_model.predict_proba(test_data[FEATURES])[:, 1]
    assert metrics["f1"] == pytest.approx(f1_score(y, pred))
    assert metrics["precision"] == pytest.approx(precision_score(y, pred))
    assert metrics["recall"] == pytest.approx(recall_score(y, pred))
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, proba))
    assert metrics["n"] == len(test_data) and metrics["positives"] == int(y.sum())
    assert metrics["confusion_matrix"] == confusion_matrix(y, pred).tolist()
    assert sum(map(sum, metrics["confusion_matrix"])) == len(test_data)
    json.dumps(metrics)  # plain Python types only
    assert metrics["roc_auc"] > 0.6  # the sample data carries a real signal


def test_score_model_with_one_class_has_no_auc(good_model, test_data) -> None:
    stayers = test_data[test_data["exited"] == 0]
    metrics = score_model(good_model, stayers, SCHEMA)
    assert metrics["roc_auc"] is None
    assert metrics["positives"] == 0
    assert metrics["f1"] == 0.0 and metrics["recall"] == 0.0
    assert np.array(metrics["confusion_matrix"]).shape == (2, 2)
    assert metrics["confusion_matrix"][1] == [0, 0]


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
