"""riskwatch.cycle: the conditions stages run under, and what their scraps mean."""

from __future__ import annotations

from pathlib import Path

from riskwatch.cycle import (DEPLOY, MODEL_AND_NEW_ROWS, RETRAIN, CycleState, deployed, drift_checked,
                             ingested, scored, trained)
from riskwatch.events import (Decided, Deployed, DriftChecked, DriftDetected, Ingested, Rejected, Scored,
                              Trained)

METRICS = {"f1": 0.7, "precision": 0.6}


def state(production: int | None = 1, **kwargs) -> CycleState:
    return CycleState("r1", Path("/tmp/r1"), production, **kwargs)


def test_the_first_model_is_always_trained() -> None:
    s = state(production=None)
    runs, events = RETRAIN.evaluate(s)
    assert runs is True
    assert events == [Decided("retrain", s.decisions["retrain"])]
    assert "no model is deployed yet" in s.decisions["retrain"].reason


def test_drift_stage_runs_only_with_a_model_and_new_rows() -> None:
    assert MODEL_AND_NEW_ROWS.evaluate(state(scraps={"ingestion": {"n_batch_rows": 5}}))[0] is True
    assert MODEL_AND_NEW_ROWS.evaluate(state(scraps={"ingestion": {"n_batch_rows": 0}}))[0] is False
    assert MODEL_AND_NEW_ROWS.evaluate(state(None, scraps={"ingestion": {"n_batch_rows": 5}}))[0] is False


def test_retrain_follows_the_drift_check_and_a_forced_retrain_overrides_no() -> None:
    drift = {"drift": {"retrain": False, "retrain_reasons": ["no retrain (x)", "data drift: no"]}}
    runs, _ = RETRAIN.evaluate(s := state(scraps=dict(drift)))
    assert runs is False and s.decisions["retrain"].reasons == ("no retrain (x)", "data drift: no")
    runs, _ = RETRAIN.evaluate(s := state(scraps=dict(drift), force_retrain=True))
    assert runs is True and s.decisions["retrain"].reasons[0] == "retrain forced from the command line"
    runs, _ = RETRAIN.evaluate(s := state(scraps={"ingestion": {"n_batch_rows": 0}}))
    assert runs is False and "held no valid rows" in s.decisions["retrain"].reason


def test_deploy_is_decided_only_after_training_and_a_no_rejects() -> None:
    s = state()
    assert DEPLOY.evaluate(s) == (False, []) and "deploy" not in s.decisions
    s = state(model_version=2, scraps={"scoring": {"promote": False, "gate_reason": "keep v1: worse",
                                                   "metrics": {"f1": 0.3}, "champion_metrics": {"f1": 0.5}}})
    runs, events = DEPLOY.evaluate(s)
    assert runs is False and s.outcome == "rejected"
    assert events == [Decided("deploy", s.decisions["deploy"]), Rejected(2, 1, 0.3, 0.5, "keep v1: worse")]
    s = state(model_version=2, scraps={"scoring": {"promote": True, "gate_reason": "deploy v2"}})
    assert DEPLOY.evaluate(s)[0] is True
    assert deployed(s, {"deployed_version": 2}) == [Deployed(2, 1, {}, "deploy v2")]
    assert s.outcome == "deployed"


def test_scraps_become_state_and_events() -> None:
    s = state()
    summary = {"new_files": ["a.csv"], "quarantined": [], "n_rows": 9, "n_batch_rows": 4, "n_unlabelled_rows": 2,
               "n_label_rows": 0, "n_duplicates": 1}
    assert ingested(s, {**summary, "other": 1}) == [Ingested({**summary, "quarantine": None})]
    assert trained(s, {"model_version": 2, "n_train_rows": 9}) == [Trained(2, 9)] and s.model_version == 2
    assert scored(s, {"metrics": METRICS, "champion_metrics": {"f1": 0.5}}) == [
        Scored(2, "challenger", "test", METRICS), Scored(1, "champion", "test", {"f1": 0.5})]
    quiet = drift_checked(s, {"data_drift": {"drifted": False}, "data_drifted": False})
    assert quiet == [DriftChecked(1, {"drifted": False}, None)]
    loud = drift_checked(s, {"data_drift": {"drifted": True}, "data_drifted": True, "batch_metrics": METRICS,
                             "retrain": True, "retrain_reasons": ["retrain", "data drift: yes"],
                             "data_drift_verdict": "data drift: 1 of 1"})
    assert loud[1] == Scored(1, "production", "batch", METRICS)
    assert loud[2] == DriftDetected(1, "drift detected against v1: data drift: yes", True, "data drift: 1 of 1")
