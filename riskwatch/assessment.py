"""What a new batch says about the deployed model: data drift against its training data, score
drift of its F1 on the batch, and the retrain decision they add up to. Pure: frames in."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Schema
from riskwatch.decisions import Decision, decide_retrain
from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import ReferenceProfile
from riskwatch.drift.report import DataDriftReport
from riskwatch.drift.score import score_drift
from riskwatch.estimation import estimate_performance
from riskwatch.metrics import predict_risk, score_model


def assess_batch(reference: pd.DataFrame | ReferenceProfile, current: pd.DataFrame, schema: Schema,
                 policy: Mapping[str, Any],
                 model: Any | None, recorded_score: float | None, score_history: Sequence[float],
                 score_rule: str, min_history: int, retrain_on: str, version: int | None = None,
                 mode: str | None = None, calibrator: Any = None, estimated_drop: float = 0.0) -> dict[str, Any]:
    """Data drift (reference = the deployed model's training data or its profile, current = the new
    batch), score drift (the deployed model's F1 on the new batch), why it drifted, and the retrain
    decision."""
    report = data_drift(reference, current, schema.numeric_features, schema.categorical_features,
                        DriftPolicy.from_mapping(policy))
    labelled = labelled_rows(current, schema)
    batch_metrics = score_model(model, labelled, schema) if model is not None and len(labelled) else None
    if batch_metrics is not None:
        sdrift = score_drift(batch_metrics["f1"], recorded_score, list(score_history), score_rule,
                             min_history=min_history, version=version, mode=mode)
        score_flag, score_reason, sdict = sdrift.drifted, sdrift.reason, sdrift.to_dict()
    else:
        score_flag, score_reason, sdict = None, ("no deployed model to score" if model is None else
                                                 "the new rows carry no outcomes yet"), None
    estimate = None
    if model is not None and len(current):
        scored = predict_risk(model, current, schema)
        estimate = estimate_performance(scored["probability"].to_numpy(), scored["predicted"].to_numpy(), calibrator)
    dropped, drop_reason = estimated_drop_verdict(estimate, recorded_score, estimated_drop)
    decision = decide_retrain(report.drifted, score_flag, retrain_on, report.verdict, score_reason, dropped, drop_reason)
    causes = explain_drift(report, reference, current, model, schema)
    if causes:
        decision = Decision(decision.value, decision.reasons + (why_sentence(causes),))
    return {"data_drift": report, "score_drift": sdict, "batch_metrics": batch_metrics, "retrain": decision,
            "drift_causes": causes, "estimate": estimate}


def estimated_drop_verdict(estimate: Mapping[str, Any] | None, recorded_f1: float | None,
                           allowed_drop: float) -> tuple[bool | None, str]:
    """Whether the F1 estimated without labels fell more than ``allowed_drop`` below the deployed
    version's test F1; ("", None) when the rule is off (``allowed_drop`` 0) or cannot apply."""
    if allowed_drop <= 0 or estimate is None:
        return None, ""
    f1 = estimate.get("f1")
    if f1 is None or recorded_f1 is None:
        return None, "no estimate of F1 for this batch" if f1 is None else "no test F1 recorded to compare with"
    interval = (estimate.get("intervals") or {}).get("f1")
    shown = f"estimated F1 {f1:.3f}" + (f" ({interval[0]:.2f}–{interval[1]:.2f})" if interval else "")
    drop = recorded_f1 - f1
    if drop > allowed_drop:
        return True, f"{shown} is {drop:.3f} below the test F1 {recorded_f1:.3f} (more than {allowed_drop})"
    return False, f"{shown} against the test F1 {recorded_f1:.3f} (a drop of more than {allowed_drop} retrains)"


def labelled_rows(batch: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The rows of a batch that carry an outcome (a batch mixes labelled and unlabelled files)."""
    if schema.target not in batch:
        return batch.iloc[0:0]
    labelled = batch[batch[schema.target].notna()]
    return labelled.astype({schema.target: "int64"})


def _reference_values(reference: pd.DataFrame | ReferenceProfile, name: str, size: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``size`` values of feature ``name`` drawn from the reference (frame or profile)."""
    if isinstance(reference, ReferenceProfile):
        if name in reference.numeric:
            return rng.choice(reference.numeric[name].pool(), size)
        counts = reference.categorical[name]
        total = sum(counts.values())
        return rng.choice(np.array(list(counts), dtype=object), size, p=[c / total for c in counts.values()])
    return rng.choice(reference[name].dropna().to_numpy(), size)


def explain_drift(report: DataDriftReport, reference: pd.DataFrame | ReferenceProfile, current: pd.DataFrame,
                  model: Any | None, schema: Schema, top: int = 3) -> list[dict[str, Any]]:
    """The drifted features, most consequential first: by how much the deployed model's mean
    predicted risk on the batch moves because of that feature alone (the batch as it is, against
    the batch with only that feature's values drawn from the reference), then by effect size."""
    causes = []
    base = float(predict_risk(model, current, schema)["probability"].mean()) if model is not None and len(current) else None
    for f in report.features:
        if not f.drifted:
            continue
        reliance = None
        if base is not None:
            rng = np.random.default_rng(0)
            swapped = current.copy()
            swapped[f.feature] = _reference_values(reference, f.feature, len(current), rng)
            reliance = base - float(predict_risk(model, swapped, schema)["probability"].mean())
        causes.append({"feature": f.feature, "effect_size": f.effect_size, "effect_name": f.effect_name,
                       "risk_change": reliance})
    causes.sort(key=lambda c: (-abs(c["risk_change"] or 0.0), -c["effect_size"]))
    return causes[:top]


def why_sentence(causes: Sequence[Mapping[str, Any]]) -> str:
    """e.g. "why: number_of_employees (effect 0.70; it alone moves the mean predicted risk by +12.3 points), …"."""
    parts = []
    for c in causes:
        effect = f"effect {c['effect_size']:.2f}"
        if c["risk_change"] is not None:
            effect += f"; it alone moves the mean predicted risk by {100 * c['risk_change']:+.1f} points"
        parts.append(f"{c['feature']} ({effect})")
    return "why: drifted most — " + ", ".join(parts)
