"""What a new batch says about the deployed model: data drift against its training data, score
drift of its F1 on the batch, and the retrain decision they add up to. Pure: frames in."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from riskwatch.config import Schema
from riskwatch.decisions import decide_retrain
from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.score import score_drift
from riskwatch.metrics import score_model


def assess_batch(reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, policy: Mapping[str, Any],
                 model: Any | None, recorded_score: float | None, score_history: Sequence[float],
                 score_rule: str, min_history: int, retrain_on: str, version: int | None = None,
                 mode: str | None = None) -> dict[str, Any]:
    """Data drift (reference = the deployed model's training data, current = the new batch),
    score drift (the deployed model's F1 on the new batch) and the retrain decision."""
    report = data_drift(reference, current, schema.numeric_features, schema.categorical_features,
                        DriftPolicy.from_mapping(policy))
    batch_metrics = score_model(model, current, schema) if model is not None else None
    if batch_metrics is not None:
        sdrift = score_drift(batch_metrics["f1"], recorded_score, list(score_history), score_rule,
                             min_history=min_history, version=version, mode=mode)
        score_flag, score_reason, sdict = sdrift.drifted, sdrift.reason, sdrift.to_dict()
    else:
        score_flag, score_reason, sdict = None, "no deployed model to score", None
    decision = decide_retrain(report.drifted, score_flag, retrain_on, report.verdict, score_reason)
    return {"data_drift": report, "score_drift": sdict, "batch_metrics": batch_metrics, "retrain": decision}
