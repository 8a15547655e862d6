"""riskwatch.metrics: per-client predictions and metrics on labelled data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

from riskwatch.metrics import predict_risk, score_model
from unit_helpers import SCHEMA

FEATURES = list(SCHEMA.features)


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
