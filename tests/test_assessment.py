"""riskwatch.assessment: what a new batch says about the deployed model (data drift, score drift,
the retrain decision), on generated frames."""

from __future__ import annotations

import pandas as pd
import pytest

from riskwatch.assessment import assess_batch
from riskwatch.config import DEFAULT_DRIFT
from riskwatch.metrics import score_model
from unit_helpers import SCHEMA, clients, expected_retrain, fit


# ---- assess_batch on small generated frames ------------------------------------------

@pytest.fixture(scope="module")
def files() -> dict[str, pd.DataFrame]:
    return {
        "reference": clients(1500, seed=51),
        "same": clients(1500, seed=52),             # same market as the reference
        "shifted": clients(1500, seed=53, production=True),   # the grown market
        "tiny": clients(5, seed=54),
        "small_reference": clients(300, seed=55),   # <= small_sample_max_rows: statistical tests
        "small_shifted": clients(300, seed=56, production=True),
    }


@pytest.fixture(scope="module")
def model(files):
    return fit(files["reference"])


def run_check(files, current, model, recorded=None, history=(), rule="parametric", retrain_on="either",
              reference="reference"):
    return assess_batch(files[reference], files[current], SCHEMA, dict(DEFAULT_DRIFT), model, recorded,
                       list(history), rule, 3, retrain_on)


def test_shifted_batch_is_data_drift_and_retrains(files, model) -> None:
    check = run_check(files, "shifted", model)
    report = check["data_drift"]
    assert report.drifted is True and report.method_family == "distances"
    assert report.n_reference == 1500 and report.n_current == 1500
    assert set(report.drifted_features) >= {"lastmonth_activity", "number_of_employees"}
    assert check["batch_metrics"] == score_model(model, files["shifted"], SCHEMA)
    assert check["score_drift"]["drifted"] is None  # too little history for the parametric rule
    assert check["retrain"].value is True
    assert check["retrain"].reasons[1] == "data drift: yes — " + report.verdict.removeprefix("data drift: ")
    why = check["retrain"].reasons[-1]
    assert why.startswith("why: drifted most — ") and "mean predicted risk by" in why
    causes = check["drift_causes"]
    assert 1 <= len(causes) <= 3 and {c["feature"] for c in causes} <= set(report.drifted_features)
    assert [abs(c["risk_change"]) for c in causes] == sorted((abs(c["risk_change"]) for c in causes), reverse=True)
    assert causes[0]["feature"] in why.split(",")[0]
    assert "score drift: undecided" in check["retrain"].reasons[2]


def test_a_small_reference_is_judged_beyond_its_noise_too(files, model) -> None:
    check = run_check(files, "small_shifted", model, reference="small_reference")
    assert check["data_drift"].method_family == "distances"
    assert check["data_drift"].drifted is True
    assert all(f.noise_bound is not None for f in check["data_drift"].features)


def test_same_market_is_no_data_drift(files, model) -> None:
    check = run_check(files, "same", model)
    assert check["data_drift"].drifted is False
    assert check["data_drift"].drifted_features == ()
    assert check["retrain"].value is False


def test_score_drift_alone_decides_by_the_rule(files, model) -> None:
    f1 = score_model(model, files["same"], SCHEMA)["f1"]
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
    f1 = score_model(model, files["same"], SCHEMA)["f1"]
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


def test_the_explanation_names_the_feature_the_model_relies_on(files, model) -> None:
    """Only number_of_employees moves, strongly: it is named first, with the risk it moves."""
    current = files["same"].copy()
    current["number_of_employees"] = current["number_of_employees"] * 4
    current["lastmonth_activity"] = current["lastmonth_activity"] * 3
    check = run_check(files, "same", model)
    assert check["drift_causes"] == []  # no drift, nothing to explain
    shifted = assess_batch(files["reference"], current, SCHEMA, dict(DEFAULT_DRIFT), model, None, [], "raw", 5,
                           "either")
    causes = shifted["drift_causes"]
    assert {c["feature"] for c in causes} == {"number_of_employees", "lastmonth_activity"}
    expected = shifted["retrain"].reasons[-1]
    for cause in causes:
        assert f"{cause['feature']} (effect {cause['effect_size']:.2f}; it alone moves the mean predicted risk by " \
               f"{100 * cause['risk_change']:+.1f} points)" in expected
