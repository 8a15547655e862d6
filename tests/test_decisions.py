"""riskwatch.decisions: the retrain decision, the champion/challenger gate and check_batch."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from riskwatch.config import DEFAULT_DRIFT
from riskwatch.decisions import Decision, check_batch, decide_retrain, gate
from riskwatch.scoring import score_model
from unit_helpers import SCHEMA, clients, fit

VERDICTS = (True, False, None)


# ---- decide_retrain ------------------------------------------------------------------------

def expected_retrain(data, score, rule) -> bool:
    yes = {"data": data is True, "score": score is True}
    return {"either": yes["data"] or yes["score"], "both": yes["data"] and yes["score"],
            "data": yes["data"], "score": yes["score"]}[rule]


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
    assert decision.reasons[1] == "data drift: yes — data drift: 2 of 3 features drifted"
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


@pytest.mark.parametrize("challenger,champion,min_improvement", [
    (0.70, 0.60, 0.0), (0.60, 0.60, 0.0), (0.59, 0.60, 0.0),
    (0.70, 0.60, 0.05), (0.64, 0.60, 0.05), (0.60, 0.60, 0.01),
])
def test_gate_compares_with_the_champion(challenger, champion, min_improvement) -> None:
    decision = gate(challenger, champion, min_improvement, challenger=2, champion=1)
    assert decision.value is (challenger >= champion + min_improvement)
    if decision.value:
        assert decision.reason.startswith("deploy v2")
    else:
        assert decision.reason.startswith("keep v1") and "rejected" in decision.reason
    assert f"{challenger:.4f}" in decision.reason and f"{champion:.4f}" in decision.reason
    assert (f"+ {min_improvement}" in decision.reason) is bool(min_improvement)


def test_gate_without_version_numbers_uses_words() -> None:
    decision = gate(0.1, 0.5)
    assert decision.value is False
    assert "the deployed model" in decision.reason and "the new model" in decision.reason
    assert isinstance(decision, Decision) and len(decision.reasons) == 1


# ---- check_batch on small generated parquet files ------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("batches")
    frames = {
        "reference": clients(1500, seed=51),
        "same": clients(1500, seed=52),             # same market as the reference
        "shifted": clients(1500, seed=53, production=True),   # the grown market
        "tiny": clients(5, seed=54),
        "small_reference": clients(300, seed=55),   # <= small_sample_max_rows: statistical tests
        "small_shifted": clients(300, seed=56, production=True),
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths


@pytest.fixture(scope="module")
def model(files):
    import pandas as pd

    return fit(pd.read_parquet(files["reference"]))


def run_check(files, current, model, recorded=None, history=(), rule="parametric", retrain_on="either",
              reference="reference"):
    return check_batch(files[reference], files[current], SCHEMA, dict(DEFAULT_DRIFT), model, recorded,
                       list(history), rule, 3, retrain_on)


def test_shifted_batch_is_data_drift_and_retrains(files, model) -> None:
    import pandas as pd

    check = run_check(files, "shifted", model)
    report = check["data_drift"]
    assert report.drifted is True and report.method_family == "distances"
    assert report.n_reference == 1500 and report.n_current == 1500
    assert set(report.drifted_features) >= {"lastmonth_activity", "number_of_employees"}
    assert check["batch_metrics"] == score_model(model, pd.read_parquet(files["shifted"]), SCHEMA)
    assert check["score_drift"]["drifted"] is None  # too little history for the parametric rule
    assert check["retrain"].value is True
    assert check["retrain"].reasons[1].startswith("data drift: yes — " + report.verdict)
    assert "score drift: undecided" in check["retrain"].reasons[2]


def test_small_reference_uses_statistical_tests(files, model) -> None:
    check = run_check(files, "small_shifted", model, reference="small_reference")
    assert check["data_drift"].method_family == "tests"
    assert check["data_drift"].drifted is True


def test_same_market_is_no_data_drift(files, model) -> None:
    check = run_check(files, "same", model)
    assert check["data_drift"].drifted is False
    assert check["data_drift"].drifted_features == ()
    assert check["retrain"].value is False


def test_score_drift_alone_decides_by_the_rule(files, model) -> None:
    import pandas as pd

    f1 = score_model(model, pd.read_parquet(files["same"]), SCHEMA)["f1"]
    recorded = f1 + 0.1  # the batch scores worse than the record
    for retrain_on in ("either", "score", "data", "both"):
        check = run_check(files, "same", model, recorded=recorded, rule="raw", retrain_on=retrain_on)
        assert check["score_drift"]["drifted"] is True
        assert check["score_drift"]["new_score"] == pytest.approx(f1)
        assert check["data_drift"].drifted is False
        assert check["retrain"].value is expected_retrain(False, True, retrain_on)
    not_worse = run_check(files, "same", model, recorded=f1, rule="raw")
    assert not_worse["score_drift"]["drifted"] is False and not_worse["retrain"].value is False


def test_parametric_score_drift_with_history(files, model) -> None:
    import pandas as pd

    f1 = score_model(model, pd.read_parquet(files["same"]), SCHEMA)["f1"]
    high = [f1 + 0.2, f1 + 0.21, f1 + 0.19, f1 + 0.2]
    check = run_check(files, "same", model, history=high)
    assert check["score_drift"]["drifted"] is True and check["retrain"].value is True
    around = [f1 - 0.05, f1 + 0.05, f1, f1 + 0.02]
    assert run_check(files, "same", model, history=around)["score_drift"]["drifted"] is False


def test_without_a_model_only_data_drift_counts(files) -> None:
    check = run_check(files, "shifted", None)
    assert check["batch_metrics"] is None and check["score_drift"] is None
    assert check["retrain"].reasons[2] == "score drift: undecided — no deployed model to score"
    assert check["retrain"].value is True
    assert run_check(files, "shifted", None, retrain_on="score")["retrain"].value is False


def test_too_few_rows_is_undecided_and_does_not_retrain(files) -> None:
    check = run_check(files, "tiny", None)
    assert check["data_drift"].drifted is None
    assert "not enough rows" in check["data_drift"].verdict
    assert check["retrain"].value is False
    assert check["retrain"].reasons[1].startswith("data drift: undecided")
