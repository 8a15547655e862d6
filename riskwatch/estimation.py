"""How good the model is on a batch whose labels have not arrived yet: confidence-based performance
estimation (the idea of NannyML's CBPE). If the predicted probabilities are calibrated, each client
with probability p leaves with probability p, so the expected confusion matrix — and from it F1,
precision and recall — follows from the probabilities alone; so does an estimate of ROC AUC.

At training, ``fit_calibrator`` learns a mapping that makes the model's probabilities calibrated on
labelled data, kept only when it lowers the Brier score on folds it was not fitted on. For each unlabelled batch,
``estimate_performance`` turns (calibrated) probabilities and predicted classes into the estimate,
with an interval from simulated label draws. Pure: models, frames and arrays in, results out.

What it cannot see: concept drift (the same features now mean a different risk). It assumes that
P(exited | probability) is what it was at training; under covariate shift that holds as long as the
model's probabilities carry what the features say about the risk where the batch now lies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from riskwatch.config import Schema

METRICS = ("f1", "precision", "recall", "roc_auc")
INTERVAL = (0.05, 0.95)
_EPSILON = 1e-6  # keeps logit(p) finite for probabilities of exactly 0 or 1


def _logit(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=float), _EPSILON, 1 - _EPSILON)
    return np.log(p / (1 - p)).reshape(-1, 1)


def _fit_mapping(method: str, probabilities: np.ndarray, labels: np.ndarray) -> Any:
    """Isotonic regression on p, or Platt's sigmoid on logit(p) (so the identity is one of its fits)."""
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(probabilities, labels)
    return LogisticRegression(C=1e6).fit(_logit(probabilities), labels)


def _apply_mapping(mapping: Any, probabilities: np.ndarray) -> np.ndarray:
    if isinstance(mapping, IsotonicRegression):
        return mapping.predict(np.asarray(probabilities, dtype=float))
    return mapping.predict_proba(_logit(probabilities))[:, 1]


@dataclass(frozen=True)
class Calibrator:
    """A fitted map from the model's probabilities to calibrated ones (picklable; stored with the
    model version). ``brier_before`` / ``brier_after``: Brier score of the out-of-fold probabilities
    on the training data without / with the mapping, the mapping judged on folds it was not fitted on."""

    method: str  # "isotonic" or "sigmoid"
    mapping: Any
    brier_before: float
    brier_after: float

    def transform(self, probabilities) -> np.ndarray:
        """Calibrated probabilities for the model's probabilities of class 1."""
        probabilities = np.asarray(probabilities, dtype=float)
        if probabilities.size == 0:
            return probabilities.copy()
        return np.clip(_apply_mapping(self.mapping, probabilities), 0.0, 1.0)


def fit_calibrator(model: Pipeline, data: pd.DataFrame, schema: Schema, *, folds: int = 5,
                   min_rows: int = 50, min_gain: float = 0.002) -> Calibrator | None:
    """A calibrator for ``model`` learnt on its labelled training ``data``, or None when calibrating
    does not clearly help.

    Out-of-fold probabilities of a clone of ``model`` (stratified ``folds``-fold, no shuffling, so
    deterministic) are what the model says about rows it has not seen. Isotonic and sigmoid maps are
    each judged by cross-validation on those probabilities (fitted on some folds, scored on the
    others); the one with the lower held-out Brier score is kept if it beats the raw probabilities
    by at least ``min_gain`` (relative), then refitted on all out-of-fold probabilities. The margin
    is small on purpose, not a significance test: calibration is a small part of the Brier score,
    and a gain of a few tenths of a percent there can remove a bias of several hundredths of F1 from
    the estimate (bench/estimation_accuracy.py). None too when there are fewer than ``min_rows``
    rows or fewer than ``folds`` rows of either class.
    """
    labels = data[schema.target].to_numpy().astype(int)
    counts = np.bincount(labels, minlength=2)
    if len(labels) < min_rows or counts.size != 2 or counts.min() < folds:
        return None
    features = data[list(schema.features)]
    positive = list(model.classes_).index(1)
    out_of_fold = cross_val_predict(clone(model), features, labels, cv=folds, method="predict_proba")[:, positive]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    best: tuple[float, str] | None = None
    for method in ("isotonic", "sigmoid"):
        held_out = np.empty_like(out_of_fold)
        for fit_rows, score_rows in splitter.split(out_of_fold.reshape(-1, 1), labels):
            mapping = _fit_mapping(method, out_of_fold[fit_rows], labels[fit_rows])
            held_out[score_rows] = _apply_mapping(mapping, out_of_fold[score_rows])
        brier = float(np.mean((held_out - labels) ** 2))
        if best is None or brier < best[0]:
            best = (brier, method)
    brier_after, method = best
    brier_before = float(np.mean((out_of_fold - labels) ** 2))
    if brier_before - brier_after < min_gain * brier_before:
        return None
    return Calibrator(method, _fit_mapping(method, out_of_fold, labels), brier_before, brier_after)


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def expected_confusion_matrix(probabilities: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """[[E TN, E FP], [E FN, E TP]] (sklearn's layout) if each row is 1 with its probability."""
    p = np.asarray(probabilities, dtype=float)
    flagged = np.asarray(predicted).astype(bool)
    tp, fp = p[flagged].sum(), (1 - p[flagged]).sum()
    fn, tn = p[~flagged].sum(), (1 - p[~flagged]).sum()
    return np.array([[tn, fp], [fn, tp]])


def expected_roc_auc(probabilities: np.ndarray) -> float | None:
    """ROC AUC of the expected ROC curve, as NannyML estimates it: at each threshold (distinct
    probability, highest first) the expected true- and false-positive counts are the sums of p and
    1 − p above it; tied probabilities form one step. None when every p is 0 or every p is 1."""
    p = np.sort(np.asarray(probabilities, dtype=float))[::-1]
    if p.size == 0:
        return None
    last_of_each = np.r_[np.flatnonzero(np.diff(p)), p.size - 1]
    tps, fps = np.cumsum(p)[last_of_each], np.cumsum(1 - p)[last_of_each]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return None
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _simulated_metrics(p: np.ndarray, flagged: np.ndarray, replicates: int,
                       rng: np.random.Generator, cells: int = 4_000_000) -> dict[str, np.ndarray]:
    """Each metric as ``score_model`` would report it (zero_division=0) for ``replicates`` label
    draws y_i ~ Bernoulli(p_i); NaN where it is undefined (precision with no predicted 1, ROC AUC
    with one class drawn). Drawn ``cells`` values at a time, so memory stays bounded."""
    n, flagged_count = p.size, int(flagged.sum())
    ranks = rankdata(p)  # ties share their mean rank: ROC AUC as the Mann-Whitney statistic
    out = {m: np.empty(replicates) for m in METRICS}
    step = max(1, cells // max(n, 1))
    for start in range(0, replicates, step):
        rows = slice(start, min(start + step, replicates))
        labels = rng.random((rows.stop - rows.start, n)) < p
        tp = labels[:, flagged].sum(axis=1).astype(float)
        positives = labels.sum(axis=1).astype(float)
        fp, fn = flagged_count - tp, positives - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            out["f1"][rows] = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
            out["precision"][rows] = tp / flagged_count if flagged_count else np.nan
            out["recall"][rows] = np.where(positives > 0, tp / positives, 0.0)
            rank_sum = labels.astype(float) @ ranks
            out["roc_auc"][rows] = ((rank_sum - positives * (positives + 1) / 2)
                                    / (positives * (n - positives)))
    return out


def estimate_performance(probabilities, predicted, calibrator: Calibrator | None = None, *,
                         replicates: int = 500, seed: int = 0) -> dict[str, Any]:
    """The expected F1, precision, recall and ROC AUC of the model on a batch without labels.

    ``probabilities``: the model's probabilities of class 1; ``predicted``: its predicted classes
    (0/1); ``calibrator``: from ``fit_calibrator``, applied first when given. F1, precision and
    recall come from the expected confusion matrix (E TP = Σ p over rows predicted 1, E FP = Σ 1 − p
    there; E FN = Σ p, E TN = Σ 1 − p over rows predicted 0); ROC AUC from the expected ROC curve.

    ``intervals[metric]`` = [low, high]: the 5 % and 95 % quantiles of the metric as it would be
    realised over ``replicates`` simulated label draws y_i ~ Bernoulli(p_i) (seeded by ``seed``; None
    with ``replicates=0``). It is the spread that chance in the labels alone gives the realised
    score if the probabilities are right; errors of the probabilities themselves (calibration that
    no longer holds under covariate shift, concept drift) are not in it.

    Also ``n``, ``expected_positive_rate`` (mean p), ``predicted_positive_rate``, the expected
    ``confusion_matrix`` and ``calibration`` (the calibrator's method or None). Plain floats; a
    metric that is undefined (empty batch; precision when nothing is predicted 1) is None.
    """
    p = np.asarray(probabilities, dtype=float).ravel()
    flagged = np.asarray(predicted).ravel().astype(int)
    if p.shape != flagged.shape:
        raise ValueError(f"{p.size} probabilities but {flagged.size} predicted classes")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must be numbers between 0 and 1")
    if not np.isin(flagged, (0, 1)).all():
        raise ValueError("predicted classes must be 0 or 1")
    if calibrator is not None:
        p = calibrator.transform(p)
    flagged = flagged.astype(bool)
    result: dict[str, Any] = {
        "n": int(p.size),
        "calibration": calibrator.method if calibrator is not None else None,
        "expected_positive_rate": float(p.mean()) if p.size else None,
        "predicted_positive_rate": float(flagged.mean()) if p.size else None,
    }
    if p.size == 0:
        return {**result, **dict.fromkeys(METRICS), "intervals": dict.fromkeys(METRICS),
                "confusion_matrix": [[0.0, 0.0], [0.0, 0.0]], "replicates": 0}
    (_, fp), (fn, tp) = matrix = expected_confusion_matrix(p, flagged)
    result.update({
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "roc_auc": expected_roc_auc(p),
        "confusion_matrix": matrix.tolist(),
    })
    intervals: dict[str, list[float] | None] = dict.fromkeys(METRICS)
    simulated = _simulated_metrics(p, flagged, replicates, np.random.default_rng(seed)) if replicates > 0 else {}
    for metric in simulated:
        values = simulated[metric][~np.isnan(simulated[metric])]
        intervals[metric] = ([float(v) for v in np.quantile(values, INTERVAL)]
                             if result[metric] is not None and values.size else None)
    return {**result, "intervals": intervals, "replicates": int(replicates)}


def describe_estimate(estimate: dict[str, Any]) -> str:
    """One sentence for people, e.g. 'estimated F1 0.62 (0.57–0.66), precision … on 1,000 clients'."""
    if not estimate.get("n"):
        return "no estimate: the batch is empty"
    parts = []
    for metric, label in (("f1", "F1"), ("precision", "precision"), ("recall", "recall"), ("roc_auc", "ROC AUC")):
        value, interval = estimate.get(metric), (estimate.get("intervals") or {}).get(metric)
        text = "undefined" if value is None else f"{value:.2f}"
        if value is not None and interval:
            text += f" ({interval[0]:.2f}–{interval[1]:.2f})"
        parts.append(f"{label} {text}")
    calibration = estimate.get("calibration")
    how = f"calibrated ({calibration})" if calibration else "uncalibrated"
    return (f"estimated {', '.join(parts)} on {estimate['n']:,} clients without labels "
            f"({how} probabilities; ranges: 5–95 % of the realised value over simulated labels)")
