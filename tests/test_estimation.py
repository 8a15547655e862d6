"""riskwatch.estimation: performance estimated without labels, and the calibrator it relies on."""

from __future__ import annotations

import json
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from riskwatch.config import Schema
from riskwatch.estimation import (
    _simulated_metrics,
    describe_estimate,
    estimate_performance,
    expected_confusion_matrix,
    expected_roc_auc,
    fit_calibrator,
)
from riskwatch.metrics import predict_risk
from riskwatch.model import train_model
from unit_helpers import ESTIMATOR, PARAMS

LOGISTIC = Schema("id", ("x1", "x2"), (), "y")


def logistic_data(n: int, seed: int) -> pd.DataFrame:
    """Labels drawn from a logistic rule in x1, x2: what a LogisticRegression can learn exactly."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-0.6 + 1.3 * x1 - 0.8 * x2)))
    return pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2, "y": (rng.random(n) < p).astype(int)})


def test_expected_confusion_matrix_by_hand() -> None:
    p = np.array([0.9, 0.6, 0.3, 0.2])
    predicted = np.array([1, 1, 0, 0])
    # predicted 1: E TP = 0.9 + 0.6, E FP = 0.1 + 0.4; predicted 0: E FN = 0.3 + 0.2, E TN = 0.7 + 0.8
    np.testing.assert_allclose(expected_confusion_matrix(p, predicted), [[1.5, 0.5], [0.5, 1.5]])
    estimate = estimate_performance(p, predicted, replicates=100)
    assert estimate["precision"] == pytest.approx(0.75)
    assert estimate["recall"] == pytest.approx(0.75)
    assert estimate["f1"] == pytest.approx(0.75)
    assert estimate["expected_positive_rate"] == pytest.approx(0.5)
    assert estimate["predicted_positive_rate"] == pytest.approx(0.5)
    np.testing.assert_allclose(estimate["confusion_matrix"], [[1.5, 0.5], [0.5, 1.5]])
    assert estimate["n"] == 4 and estimate["calibration"] is None


@pytest.mark.parametrize("p", [[0.9, 0.6, 0.3, 0.2, 0.6, 0.6, 0.05], [0.5, 0.5, 0.5], [0.99, 0.01]])
def test_expected_roc_auc_is_the_auc_with_each_row_half_positive_half_negative_by_its_p(p) -> None:
    # each row counts as a positive with weight p and a negative with weight 1 - p (ties included)
    p = np.array(p)
    weighted = roc_auc_score(np.r_[np.ones_like(p), np.zeros_like(p)], np.r_[p, p], sample_weight=np.r_[p, 1 - p])
    assert expected_roc_auc(p) == pytest.approx(weighted)
    assert expected_roc_auc(np.zeros(3)) is None and expected_roc_auc(np.ones(3)) is None


def test_estimate_is_near_the_mean_realised_value_and_its_interval_covers_it_about_90_percent() -> None:
    rng = np.random.default_rng(7)
    p = rng.beta(1.2, 2.5, 1_000)
    predicted = (p > 0.5).astype(int)
    estimate = estimate_performance(p, predicted, replicates=400, seed=1)
    realised = {"f1": [], "precision": [], "recall": [], "roc_auc": []}
    for _ in range(300):  # labels drawn independently of the estimate's own simulation
        y = (rng.random(p.size) < p).astype(int)
        realised["f1"].append(f1_score(y, predicted))
        realised["precision"].append(precision_score(y, predicted))
        realised["recall"].append(recall_score(y, predicted))
        realised["roc_auc"].append(roc_auc_score(y, p))
    for metric, values in realised.items():
        values = np.array(values)
        low, high = estimate["intervals"][metric]
        assert low < estimate[metric] < high
        assert estimate[metric] == pytest.approx(values.mean(), abs=0.01), metric
        assert 0.84 <= np.mean((values >= low) & (values <= high)) <= 0.96, metric


def test_simulation_does_not_depend_on_how_it_is_chunked() -> None:
    p = np.random.default_rng(3).random(300)
    flagged = p > 0.4
    whole = _simulated_metrics(p, flagged, 50, np.random.default_rng(5))
    chunked = _simulated_metrics(p, flagged, 50, np.random.default_rng(5), cells=7 * 300)
    for metric in whole:
        np.testing.assert_array_equal(whole[metric], chunked[metric])


def test_empty_batch() -> None:
    estimate = estimate_performance([], [])
    assert estimate["n"] == 0
    assert all(estimate[m] is None for m in ("f1", "precision", "recall", "roc_auc", "expected_positive_rate"))
    assert all(v is None for v in estimate["intervals"].values())
    json.dumps(estimate, allow_nan=False)
    assert describe_estimate(estimate) == "no estimate: the batch is empty"


def test_nothing_predicted_positive_leaves_precision_undefined() -> None:
    p = np.array([0.3, 0.2, 0.1, 0.4])
    estimate = estimate_performance(p, np.zeros(4, dtype=int), replicates=50)
    assert estimate["precision"] is None and estimate["intervals"]["precision"] is None
    assert estimate["recall"] == 0.0 and estimate["f1"] == 0.0  # as score_model reports it (zero_division=0)
    assert estimate["intervals"]["f1"] == [0.0, 0.0]
    json.dumps(estimate, allow_nan=False)
    assert "precision undefined" in describe_estimate(estimate)


def test_certain_negatives_leave_recall_f1_and_auc_undefined() -> None:
    estimate = estimate_performance(np.zeros(5), np.zeros(5, dtype=int), replicates=20)
    assert estimate["recall"] is None and estimate["f1"] is None and estimate["roc_auc"] is None
    assert estimate["expected_positive_rate"] == 0.0
    json.dumps(estimate, allow_nan=False)


def test_one_row_and_a_deterministic_seed() -> None:
    one = estimate_performance([0.7], [1], replicates=50)
    assert one["precision"] == pytest.approx(0.7) and one["roc_auc"] is not None
    p, predicted = np.linspace(0.05, 0.95, 40), np.r_[np.zeros(20, int), np.ones(20, int)]
    assert estimate_performance(p, predicted, seed=4) == estimate_performance(p, predicted, seed=4)
    assert all(v is None for v in estimate_performance(p, predicted, replicates=0)["intervals"].values())


@pytest.mark.parametrize("p, predicted, message", [
    ([0.2, 0.4], [1], "2 probabilities but 1 predicted"),
    ([0.2, 1.4], [1, 0], "between 0 and 1"),
    ([0.2, np.nan], [1, 0], "between 0 and 1"),
    ([0.2, 0.4], [1, 2], "must be 0 or 1"),
])
def test_bad_input_is_refused(p, predicted, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_performance(p, predicted)


def test_describe_estimate_is_one_sentence_with_intervals() -> None:
    p = np.array([0.9, 0.6, 0.3, 0.2] * 50)
    text = describe_estimate(estimate_performance(p, (p > 0.5).astype(int)))
    assert text.startswith("estimated F1 0.75 (") and "precision 0.75 (" in text and "ROC AUC" in text
    assert "200 clients" in text and "uncalibrated" in text and "\n" not in text


def test_calibrator_is_not_kept_for_a_well_calibrated_model() -> None:
    data = logistic_data(4_000, seed=1)
    model = train_model(data, LOGISTIC, ESTIMATOR, PARAMS)
    calibrator = fit_calibrator(model, data, LOGISTIC)
    if calibrator is not None:  # allowed only as a small change
        p = predict_risk(model, data, LOGISTIC)["probability"].to_numpy()
        assert np.mean(np.abs(calibrator.transform(p) - p)) < 0.02
        assert calibrator.brier_before - calibrator.brier_after < 0.01 * calibrator.brier_before


@pytest.mark.parametrize("estimator, params, scale", [
    ("sklearn.tree.DecisionTreeClassifier", {"random_state": 0}, False),  # overconfident: 0 or 1
    (ESTIMATOR, {"C": 0.0005, "solver": "liblinear", "random_state": 0}, True),  # shrunk towards the mean
])
def test_calibrator_is_kept_when_it_improves_a_badly_calibrated_model(estimator, params, scale) -> None:
    data = logistic_data(3_000, seed=2)
    model = train_model(data, LOGISTIC, estimator, params, scale_numeric=scale)
    calibrator = fit_calibrator(model, data, LOGISTIC)
    assert calibrator is not None and calibrator.method in ("isotonic", "sigmoid")
    assert calibrator.brier_after < 0.9 * calibrator.brier_before
    # on fresh data from the same rule, the calibrated probabilities score better
    fresh = logistic_data(3_000, seed=3)
    p = predict_risk(model, fresh, LOGISTIC)["probability"].to_numpy()
    y = fresh["y"].to_numpy()
    assert np.mean((calibrator.transform(p) - y) ** 2) < np.mean((p - y) ** 2)
    estimate = estimate_performance(p, (p > 0.5).astype(int), calibrator, replicates=0)
    assert estimate["calibration"] == calibrator.method
    assert estimate["expected_positive_rate"] == pytest.approx(calibrator.transform(p).mean())


def test_calibrator_survives_pickle_and_joblib(tmp_path) -> None:
    data = logistic_data(2_000, seed=4)
    model = train_model(data, LOGISTIC, "sklearn.tree.DecisionTreeClassifier", {"random_state": 0})
    calibrator = fit_calibrator(model, data, LOGISTIC)
    p = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(calibrator)).transform(p), calibrator.transform(p))
    joblib.dump(calibrator, tmp_path / "calibrator.pkl")
    np.testing.assert_array_equal(joblib.load(tmp_path / "calibrator.pkl").transform(p), calibrator.transform(p))
    assert calibrator.transform([]).size == 0
    assert ((calibrator.transform(p) >= 0) & (calibrator.transform(p) <= 1)).all()


def test_no_calibrator_from_too_little_data_or_one_class() -> None:
    data = logistic_data(2_000, seed=5)
    model = train_model(data, LOGISTIC, "sklearn.tree.DecisionTreeClassifier", {"random_state": 0})
    assert fit_calibrator(model, data.head(40), LOGISTIC) is None
    assert fit_calibrator(model, data.assign(y=0), LOGISTIC) is None
    rare = data.assign(y=0)
    rare.loc[:2, "y"] = 1  # three positives cannot fill five stratified folds
    assert fit_calibrator(model, rare, LOGISTIC) is None
