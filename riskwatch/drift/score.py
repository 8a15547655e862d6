"""Score drift: is a new model score worse than the recorded score or the history of scores?"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

from riskwatch.drift.policy import SCORE_RULES
from riskwatch.drift.report import fmt, json_value


@dataclass(frozen=True)
class ScoreDrift:
    """Whether a new model score is worse than the record; ``drifted`` is None when undecidable."""

    rule: str
    new_score: float
    reference_score: float | None
    threshold: float | None
    drifted: bool | None
    reason: str
    n_history: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: plain Python types, None instead of NaN."""
        return {f.name: json_value(getattr(self, f.name)) for f in fields(self)}


def recorded_scores(n: int, version: int | None = None, mode: str | None = None) -> str:
    """The history in words: "5 recorded scores", or "2 scores recorded for v3 in production mode"."""
    noun = "score" if n == 1 else "scores"
    whose = " ".join(part for part in (f"for v{version}" if version is not None else "",
                                       f"in {mode} mode" if mode else "") if part)
    return f"{n} {noun} recorded {whose}" if whose else f"{n} recorded {noun}"


def score_drift(new_score: float, recorded_score: float | None, history: Sequence[float],
                rule: str = "raw", min_history: int = 5, *, metric: str = "F1",
                version: int | None = None, mode: str | None = None) -> ScoreDrift:
    """Decide score drift for a higher-is-better score in [0, 1] such as F1.

    Rules: ``raw`` drifts when ``new_score < recorded_score``; ``parametric`` when it is below
    mean - 2*std of ``history`` (sample std, numpy ``ddof=1``); ``nonparametric`` when below
    Q1 - 1.5*IQR of ``history`` (numpy.percentile, linear). Both thresholds are clipped to [0, 1],
    the range of the score. ``history`` is the scores of one deployed version in one mode
    (:meth:`riskwatch.ledger.Ledger.production_scores`); ``version`` and ``mode``, when given, name
    it in the reason. The history rules need at least ``min_history`` values, otherwise
    ``drifted`` is None and the reason says how many there are. Unknown rule -> ValueError.
    """
    if rule not in SCORE_RULES:
        raise ValueError(f"unknown score rule {rule!r}: use one of {', '.join(SCORE_RULES)}")
    new = float(new_score)
    if not math.isfinite(new):
        raise ValueError(f"new_score must be a finite number, got {new_score!r}")
    recorded = None if recorded_score is None else float(recorded_score)
    if recorded is not None and not math.isfinite(recorded):
        raise ValueError(f"recorded_score must be a finite number or None, got {recorded_score!r}")
    scores = np.asarray(list(history), dtype=np.float64)
    if not np.isfinite(scores).all():
        raise ValueError(f"history must hold finite numbers only, got {list(history)!r}")
    n = int(scores.size)
    shown = f"{metric} {fmt(new)} on the new data"

    if rule == "raw":
        if recorded is None:
            return ScoreDrift(rule, new, None, None, None,
                              "cannot decide score drift: there is no recorded score to compare against", n)
        drifted = new < recorded
        reason = (f"score drift: {shown} is below the recorded score {fmt(recorded)}" if drifted else
                  f"no score drift: {shown} is not below the recorded score {fmt(recorded)}")
        return ScoreDrift(rule, new, recorded, recorded, drifted, reason, n)

    if min_history < 2:
        raise ValueError(f"min_history must be >= 2 for the {rule} rule, got {min_history}")
    of = recorded_scores(n, version, mode)
    if n < min_history:
        return ScoreDrift(rule, new, recorded, None, None,
                          f"score drift undecided: {of}, the {rule} rule needs {min_history}", n)
    if rule == "parametric":
        computed = float(scores.mean() - 2 * scores.std(ddof=1))
        bound = "mean-2·std"
    else:
        q1, q3 = np.percentile(scores, [25, 75])
        computed = float(q1 - 1.5 * (q3 - q1))
        bound = "Q1-1.5·IQR"
    threshold = min(max(computed, 0.0), 1.0)
    value = fmt(threshold) if threshold == computed else (
        f"{fmt(computed)}, clipped to {fmt(threshold)}: {metric} lies in [0, 1]")
    drifted = new < threshold
    reason = (f"score drift: {shown} is below {bound} of {of} ({value})" if drifted else
              f"no score drift: {shown} is not below {bound} of {of} ({value})")
    return ScoreDrift(rule, new, recorded, threshold, drifted, reason, n)
