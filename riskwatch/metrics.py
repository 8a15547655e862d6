"""How good a model is on labelled data: F1 (the baseline's figure) plus precision, recall,
ROC AUC and the confusion matrix. Pure: frames in, numbers out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline

from riskwatch.config import Schema


def predict_risk(model: Pipeline, data: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per client: id, predicted class and attrition probability."""
    features = data[list(schema.features)]
    probability = model.predict_proba(features)[:, list(model.classes_).index(1)]
    return pd.DataFrame({
        schema.id_column: data[schema.id_column].to_numpy(),
        "predicted": model.predict(features).astype(int),
        "probability": probability,
    })


def score_model(model: Pipeline, data: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Metrics of ``model`` on labelled ``data``; ROC AUC is None when only one class is present."""
    predictions = predict_risk(model, data, schema)
    return metrics_from_predictions(data[schema.target].to_numpy(), predictions["predicted"].to_numpy(),
                                    predictions["probability"].to_numpy())


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
