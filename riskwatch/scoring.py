"""Scoring: F1 (the baseline's figure) plus precision, recall, ROC AUC and the confusion matrix."""

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
    y_true = data[schema.target].to_numpy()
    predictions = predict_risk(model, data, schema)
    y_pred = predictions["predicted"].to_numpy()
    both_classes = len(np.unique(y_true)) == 2
    return {
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, predictions["probability"])) if both_classes else None,
        "n": int(len(y_true)),
        "positives": int(y_true.sum()),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
    }


def evaluate_challenger(registry_path: str, model_version: int | None, champion_version: int | None,
                        test_data_path: str, output_model_path: str, schema: Schema,
                        min_improvement: float = 0.0) -> dict[str, Any]:
    """Score the new version (and the champion, on the same data) and apply the gate.

    Writes the baseline's ``latestscore.txt`` and a ``scores.json`` with every metric into
    ``output_model_path``, and the metrics into the registry version.
    """
    import json
    from pathlib import Path

    from riskwatch.decisions import gate
    from riskwatch.deployment import format_score
    from riskwatch.ingestion import load_table
    from riskwatch.newdata import atomic_write_text
    from riskwatch.registry import Registry

    registry = Registry(Path(registry_path))
    if model_version is None:
        versions = registry.versions()
        if not versions:
            raise ValueError(f"no model in the registry at {registry_path}; run training first")
        model_version = versions[-1]
    test = load_table(test_data_path, schema)
    metrics = score_model(registry.load_model(model_version), test, schema)
    registry.write_metrics(model_version, {**metrics, "test_data": str(test_data_path)})
    champion_metrics = None
    if champion_version is not None and champion_version != model_version:
        champion_metrics = score_model(registry.load_model(champion_version), test, schema)
    verdict = gate(metrics["f1"], champion_metrics["f1"] if champion_metrics else None, min_improvement,
                   challenger=model_version, champion=champion_version)
    out = Path(output_model_path)
    atomic_write_text(out / "latestscore.txt", format_score(metrics["f1"]))
    atomic_write_text(out / "scores.json", json.dumps(
        {"version": model_version, **metrics, "champion_version": champion_version,
         "champion": champion_metrics, "promote": verdict.value, "gate_reason": verdict.reason},
        indent=1) + "\n")
    return {"version": model_version, "metrics": metrics, "champion_metrics": champion_metrics,
            "promote": verdict.value, "gate_reason": verdict.reason}
