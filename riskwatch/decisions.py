"""The two decisions a cycle makes, in words a person can read:
retrain or not (from data drift and score drift), and deploy the challenger or keep the champion.
Pure and light (standard library only): verdicts and numbers in, a :class:`Decision` with its
reasons out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RETRAIN_RULES = {"either": "retrain when data or score drift",
                 "both": "retrain only when data and score both drift",
                 "data": "retrain on data drift", "score": "retrain on score drift"}


@dataclass(frozen=True)
class Decision:
    value: bool
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "reasons": list(self.reasons)}


def decide_retrain(data_drifted: bool | None, score_drifted: bool | None, retrain_on: str,
                   data_reason: str = "", score_reason: str = "", estimate_dropped: bool | None = None,
                   estimate_reason: str = "") -> Decision:
    """Combine the two drift verdicts as configured (``either``, ``both``, ``data``, ``score``); an
    estimated drop in performance (``estimate_dropped``, when the rule is on) is a third reason that
    retrains whatever ``retrain_on`` says.

    An undecided verdict (None: too few rows or too little history) never triggers a retrain.
    """
    def said(flag: bool | None, what: str, why: str) -> str:
        state = {True: "yes", False: "no", None: "undecided"}[flag]
        for repeated in (f"{what}: ", f"no {what}: ", f"{what} undecided: "):
            why = why.removeprefix(repeated)  # the verdict already opens the line
        return f"{what}: {state}" + (f" — {why}" if why else "")

    data_line = said(data_drifted, "data drift", data_reason)
    score_line = said(score_drifted, "score drift", score_reason)
    votes = {"data": data_drifted is True, "score": score_drifted is True}
    if retrain_on == "either":
        value = votes["data"] or votes["score"]
    elif retrain_on == "both":
        value = votes["data"] and votes["score"]
    elif retrain_on in votes:
        value = votes[retrain_on]
    else:
        raise ValueError(f"unknown retrain_on {retrain_on!r}")
    rule = RETRAIN_RULES[retrain_on]
    lines = (data_line, score_line)
    if estimate_reason:
        lines += (said(estimate_dropped, "estimated drop", estimate_reason),)
        if estimate_dropped is True and not value:
            value, rule = True, rule + ", or on an estimated drop"
    head = f"retrain ({rule})" if value else f"no retrain ({rule})"
    return Decision(value, (head, *lines))


# F1 differences smaller than this are float noise (0.65 - 0.60 is 0.05000000000000004), not a gain.
F1_NOISE = 1e-9


def gate(challenger_f1: float, champion_f1: float | None, min_improvement: float = 0.0,
         challenger: int | None = None, champion: int | None = None) -> Decision:
    """Champion/challenger: deploy only if the challenger's test F1 beats the champion's by more
    than ``min_improvement``. A tie keeps the champion, so a retrain that gains nothing does not
    deploy a new version. The reason names both scores and the margin."""
    new = f"v{challenger}" if challenger is not None else "the new model"
    old = f"v{champion}" if champion is not None else "the deployed model"
    if champion_f1 is None:
        return Decision(True, (f"deploy {new}: no model is deployed yet (test F1 {challenger_f1:.4f})",))
    margin = challenger_f1 - champion_f1
    if margin - min_improvement > F1_NOISE:
        return Decision(True, (f"deploy {new}: test F1 {challenger_f1:.4f} beats {old}'s {champion_f1:.4f} "
                               f"by {margin:.4f} (more than the required {min_improvement})",))
    if abs(margin) <= F1_NOISE:
        compared = f"equal to {old}'s {champion_f1:.4f}"
    elif margin > 0:
        compared = f"above {old}'s {champion_f1:.4f} by only {margin:.4f}"
    else:
        compared = f"below {old}'s {champion_f1:.4f} by {-margin:.4f}"
    return Decision(False, (f"keep {old}: {new} scored test F1 {challenger_f1:.4f}, {compared}; a new model "
                            f"must beat it by more than {min_improvement}; {new} stays in the registry, rejected",))
