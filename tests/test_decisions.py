"""riskwatch.decisions: the retrain decision and the champion/challenger gate."""

from __future__ import annotations

import itertools

import pytest

from riskwatch.decisions import Decision, decide_retrain, gate
from unit_helpers import expected_retrain

VERDICTS = (True, False, None)


# ---- decide_retrain ------------------------------------------------------------------------

@pytest.mark.parametrize("data,score,rule", list(itertools.product(VERDICTS, VERDICTS,
                                                                    ("either", "both", "data", "score"))))
def test_decide_retrain_truth_table(data, score, rule) -> None:
    decision = decide_retrain(data, score, rule)
    assert decision.value is expected_retrain(data, score, rule)
    head, data_line, score_line = decision.reasons
    assert head.startswith("retrain (" if decision.value else "no retrain (")
    words = {True: "yes", False: "no", None: "undecided"}
    assert data_line == f"data drift: {words[data]}"
    assert score_line == f"score drift: {words[score]}"


def test_undecided_never_triggers_a_retrain() -> None:
    for rule in ("either", "both", "data", "score"):
        assert decide_retrain(None, None, rule).value is False


def test_decide_retrain_keeps_the_reasons() -> None:
    decision = decide_retrain(True, None, "either", "data drift: 2 of 3 features drifted",
                              "cannot decide: too little history")
    assert decision.value is True
    assert decision.reasons[1] == "data drift: yes — 2 of 3 features drifted"  # not "data drift" twice
    assert decision.reasons[2] == "score drift: undecided — cannot decide: too little history"
    assert decision.reason == "; ".join(decision.reasons)
    assert decision.to_dict() == {"value": True, "reasons": list(decision.reasons)}


def test_decide_retrain_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown retrain_on"):
        decide_retrain(True, True, "always")


# ---- gate ----------------------------------------------------------------------------------

def test_gate_deploys_when_nothing_is_deployed() -> None:
    decision = gate(0.2, None, challenger=3)
    assert decision.value is True
    assert "v3" in decision.reason and "no model is deployed" in decision.reason and "0.2000" in decision.reason


@pytest.mark.parametrize("challenger,champion,min_improvement,deploys", [
    (0.70, 0.60, 0.0, True), (0.60, 0.60, 0.0, False), (0.59, 0.60, 0.0, False),
    (0.70, 0.60, 0.05, True), (0.64, 0.60, 0.05, False), (0.60, 0.60, 0.01, False),
    (0.65, 0.60, 0.05, False),  # exactly the margin is not more than it (0.65 - 0.60 > 0.05 in floats)
])
def test_gate_deploys_only_a_challenger_better_by_more_than_the_margin(challenger, champion, min_improvement,
                                                                       deploys) -> None:
    decision = gate(challenger, champion, min_improvement, challenger=2, champion=1)
    assert decision.value is deploys
    if decision.value:
        assert decision.reason.startswith("deploy v2")
    else:
        assert decision.reason.startswith("keep v1") and "rejected" in decision.reason
    assert f"{challenger:.4f}" in decision.reason and f"{champion:.4f}" in decision.reason
    assert f"{abs(challenger - champion):.4f}" in decision.reason or challenger == champion
    assert f"more than {'the required ' if deploys else ''}{min_improvement}" in decision.reason


def test_gate_sentences() -> None:
    assert gate(0.6304, 0.2481, challenger=2, champion=1).reason == (
        "deploy v2: test F1 0.6304 beats v1's 0.2481 by 0.3823 (more than the required 0.0)")
    assert gate(0.3333, 0.5714, challenger=2, champion=1).reason == (
        "keep v1: v2 scored test F1 0.3333, below v1's 0.5714 by 0.2381; a new model must beat it by more "
        "than 0.0; v2 stays in the registry, rejected")
    assert gate(0.62, 0.60, 0.05, challenger=2, champion=1).reason.startswith(
        "keep v1: v2 scored test F1 0.6200, above v1's 0.6000 by only 0.0200; a new model must beat it by more "
        "than 0.05")


def test_a_tie_keeps_the_champion_and_says_so() -> None:
    decision = gate(0.6304, 0.6304, 0.0, challenger=3, champion=2)
    assert decision.value is False
    assert decision.reason.startswith(
        "keep v2: v3 scored test F1 0.6304, equal to v2's 0.6304; a new model must beat it by more than 0.0")


def test_gate_without_version_numbers_uses_words() -> None:
    decision = gate(0.1, 0.5)
    assert decision.value is False
    assert "the deployed model" in decision.reason and "the new model" in decision.reason
    assert isinstance(decision, Decision) and len(decision.reasons) == 1
