"""How good a model is on labelled data: F1 (the baseline's figure) plus precision, recall,
ROC AUC and the confusion matrix. Pure: frames in, numbers out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline

from riskwatch.config import Schema


def predicted_and_probability(model: Pipeline, data: pd.DataFrame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``data`` (which needs only the features): the predicted class and the attrition probability."""
    features = data[list(schema.features)]
    return model.predict(features).astype(int), model.predict_proba(features)[:, list(model.classes_).index(1)]


def predict_risk(model: Pipeline, data: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per client: id, predicted class and attrition probability."""
    predicted, probability = predicted_and_probability(model, data, schema)
    return pd.DataFrame({schema.id_column: data[schema.id_column].to_numpy(), "predicted": predicted,
                         "probability": probability})


def score_model(model: Pipeline, data: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Metrics of ``model`` on labelled ``data``; ROC AUC is None when only one class is present."""
    return metrics_from_predictions(data[schema.target].to_numpy(), *predicted_and_probability(model, data, schema))


def metrics_from_predictions(y_true: np.ndarray, y_pred: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """F1, precision, recall, ROC AUC (None with one class), counts and the confusion matrix."""
    y_true = np.asarray(y_true).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, probability)) if both_classes else None,
        "n": int(len(y_true)),
        "positives": int(y_true.sum()),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
    }


# ---- the same metrics from sums over partitions (the Dask engine scores partition by partition)
AUC_BINS = 1 << 18  # probability histogram resolution for ROC AUC from summed partitions (2^-18)
EXACT_AUC_ROWS = 200_000  # up to this many rows in all, ROC AUC is scikit-learn's on the gathered pairs


def partition_counts(y_true: np.ndarray, y_pred: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """What one partition contributes: its confusion matrix (rows: actual 0/1, columns: predicted
    0/1), histograms of the probability over :data:`AUC_BINS` bins for actual 1s and 0s, and its
    (actual, probability) pairs while they are few (:data:`EXACT_AUC_ROWS`)."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    confusion = np.bincount(2 * y_true + y_pred, minlength=4).reshape(2, 2).astype(np.int64)
    bins = np.minimum((np.asarray(probability, dtype=np.float64) * AUC_BINS).astype(np.int64), AUC_BINS - 1)
    return {"confusion": confusion,
            "positives": np.bincount(bins[y_true == 1], minlength=AUC_BINS).astype(np.int64),
            "negatives": np.bincount(bins[y_true == 0], minlength=AUC_BINS).astype(np.int64),
            "pairs": ((y_true, np.asarray(probability, dtype=np.float64)) if len(y_true) <= EXACT_AUC_ROWS
                      else None)}


def add_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two partitions' :func:`partition_counts` summed (pairs concatenated in order while few)."""
    pairs = None
    if a["pairs"] is not None and b["pairs"] is not None and len(a["pairs"][0]) + len(b["pairs"][0]) <= EXACT_AUC_ROWS:
        pairs = (np.concatenate([a["pairs"][0], b["pairs"][0]]), np.concatenate([a["pairs"][1], b["pairs"][1]]))
    return {"confusion": a["confusion"] + b["confusion"], "positives": a["positives"] + b["positives"],
            "negatives": a["negatives"] + b["negatives"], "pairs": pairs}


def auc_from_histograms(positives: np.ndarray, negatives: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney statistic over probability bins: the chance a random actual 1
    scores above a random actual 0, ties (same bin) counting half. Equals scikit-learn's exact
    AUC except for pairs of opposite classes whose probabilities fall within 2^-18 of each other."""
    n_pos, n_neg = int(positives.sum()), int(negatives.sum())
    if n_pos == 0 or n_neg == 0:
        return None
    negatives_below = np.cumsum(negatives) - negatives
    wins = float(np.dot(positives, negatives_below)) + 0.5 * float(np.dot(positives, negatives))
    return wins / (n_pos * n_neg)


def metrics_from_counts(counts: dict[str, Any]) -> dict[str, Any]:
    """:func:`metrics_from_predictions` from summed :func:`partition_counts`: F1, precision, recall,
    counts and the confusion matrix exactly as scikit-learn computes them (the same integer sums,
    one division); ROC AUC by scikit-learn on the gathered pairs when there are at most
    :data:`EXACT_AUC_ROWS` rows, else from the histograms (:func:`auc_from_histograms`)."""
    (tn, fp), (fn, tp) = (int(v) for v in counts["confusion"][0]), (int(v) for v in counts["confusion"][1])
    true_sum, pred_sum = tp + fn, tp + fp
    return {
        "f1": float(2 * tp / (true_sum + pred_sum)) if true_sum + pred_sum else 0.0,
        "precision": float(tp / pred_sum) if pred_sum else 0.0,
        "recall": float(tp / true_sum) if true_sum else 0.0,
        "roc_auc": (auc_from_histograms(counts["positives"], counts["negatives"]) if counts["pairs"] is None
                    else float(roc_auc_score(*counts["pairs"])) if true_sum and tn + fp else None),
        "n": tn + fp + fn + tp,
        "positives": true_sum,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }
