"""A cycle's state, the conditions stages run under, and how each stage's scraps become state and
events. Pure and light (standard library only): nothing here reads or writes a file.

A stage's ``runs_when`` is a :class:`When` (a plain condition) or a :class:`Decide` (a named
decision that is recorded, with its reasons, whichever way it goes). A stage's ``then`` turns the
scraps it glued into state for later stages and events for the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from riskwatch.decisions import Decision
from riskwatch.events import (Decided, Deployed, DriftChecked, DriftDetected, Ingested, OutcomesArrived, Rejected,
                              RiskListed, Scored, Trained)
from riskwatch.layout import RunFolder


@dataclass
class CycleState:
    """What a cycle knows so far; stages read it through their declared parameters."""

    run_id: str
    run_dir: Path
    production_version: int | None = None          # at the start of the cycle
    new_files: list[dict[str, Any]] = field(default_factory=list)  # hashed by the runner already
    redo_hashes: list[str] = field(default_factory=list)
    score_history: list[float] = field(default_factory=list)   # the deployed version's F1s in this mode
    force_retrain: bool = False
    model_version: int | None = None               # trained in this cycle
    deployed: bool = False
    rejected: bool = False
    decisions: dict[str, Decision] = field(default_factory=dict)
    scraps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def batch_path(self) -> Path:
        return self.folder.batch

    @property
    def diagnostics_path(self) -> Path:
        return self.folder.diagnostics

    @property
    def risk_path(self) -> Path:
        return self.folder.risk_scores

    @property
    def labels_path(self) -> Path:
        return self.folder.labels

    @property
    def outcome(self) -> str:
        return "deployed" if self.deployed else "rejected" if self.rejected else "no-retrain"

    @property
    def decision_record(self) -> dict[str, dict[str, Any]]:
        return {name: decision.to_dict() for name, decision in self.decisions.items()}

    @property
    def drift_check(self) -> dict[str, Any] | None:
        return self.scraps.get("drift", {}).get("data_drift")

    def scrap(self, stage: str, name: str, default: Any = None) -> Any:
        return self.scraps.get(stage, {}).get(name, default)


Events = list  # of the records in riskwatch.events


@dataclass(frozen=True)
class When:
    """Run the stage when ``test(state)`` holds; ``says`` is the condition in words."""

    says: str
    test: Callable[[CycleState], bool]

    def evaluate(self, state: CycleState) -> tuple[bool, Events]:
        return bool(self.test(state)), []


@dataclass(frozen=True)
class Decide:
    """Run the stage when the decision ``name`` says yes. The decision is recorded either way;
    ``otherwise`` gives the events of a "no" (e.g. a rejected challenger)."""

    says: str
    name: str
    decide: Callable[[CycleState], Decision]
    otherwise: Callable[[CycleState, Decision], Events] = lambda state, decision: []
    given: When | None = None           # when this does not hold, nothing is decided

    def evaluate(self, state: CycleState) -> tuple[bool, Events]:
        if self.given is not None and not self.given.test(state):
            return False, []
        decision = self.decide(state)
        state.decisions[self.name] = decision
        events: Events = [Decided(self.name, decision)]
        if not decision.value:
            events += self.otherwise(state, decision)
        return decision.value, events


ALWAYS = When("always", lambda state: True)
MODEL_AND_NEW_ROWS = When("a model is deployed and the new files hold valid rows",
                          lambda state: state.production_version is not None
                          and state.scrap("ingestion", "n_batch_rows", 0) > 0)
TRAINED = When("a model was trained in this cycle", lambda state: state.model_version is not None)
NEW_ROWS = When("the new files hold client rows", lambda state: state.scrap("ingestion", "n_batch_rows", 0) > 0)
NEW_LABELS = When("a labels file brought outcomes", lambda state: state.scrap("ingestion", "n_label_rows", 0) > 0)


# ---- decisions ------------------------------------------------------------------------------

def retrain_decision(state: CycleState) -> Decision:
    """Train the first model; otherwise follow the drift check (no rows: no retrain); a retrain
    forced from the command line overrides a "no"."""
    if state.production_version is None:
        decision = Decision(True, ("retrain: no model is deployed yet, so train the first one",))
    elif "drift" in state.scraps:
        decision = Decision(bool(state.scrap("drift", "retrain")), tuple(state.scrap("drift", "retrain_reasons")))
    else:
        decision = Decision(False, ("no retrain: the new files held no valid rows",))
    if state.force_retrain and not decision.value:
        decision = Decision(True, ("retrain forced from the command line",) + decision.reasons)
    return decision


def deploy_decision(state: CycleState) -> Decision:
    """The champion/challenger gate's verdict, as the scoring stage glued it."""
    return Decision(bool(state.scrap("scoring", "promote")), (state.scrap("scoring", "gate_reason"),))


def rejected(state: CycleState, decision: Decision) -> Events:
    state.rejected = True
    metrics = state.scrap("scoring", "metrics") or {}
    champion = state.scrap("scoring", "champion_metrics") or {}
    return [Rejected(state.model_version, state.production_version, metrics.get("f1"), champion.get("f1"),
                     decision.reason)]


RETRAIN = Decide("the deployed model drifted, none is deployed, or a retrain is forced", "retrain",
                 retrain_decision)
DEPLOY = Decide("the new model passes the champion/challenger gate", "deploy", deploy_decision, rejected,
                given=TRAINED)


# ---- what each stage's scraps mean ------------------------------------------------------------

INGESTION_SUMMARY = ("new_files", "quarantined", "n_rows", "n_batch_rows", "n_unlabelled_rows", "n_label_rows",
                     "n_duplicates", "quarantine")  # quarantine: files refused and rows set aside, with reasons


def ingested(state: CycleState, scraps: dict[str, Any]) -> Events:
    return [Ingested({key: scraps.get(key) for key in INGESTION_SUMMARY})]


def drift_checked(state: CycleState, scraps: dict[str, Any]) -> Events:
    version = state.production_version
    events: Events = [DriftChecked(version, scraps.get("data_drift"), scraps.get("score_drift"), scraps.get("estimate"))]
    if scraps.get("batch_metrics"):
        events.append(Scored(version, "production", "batch", scraps["batch_metrics"]))
    if scraps.get("data_drifted") or scraps.get("score_drifted"):
        reasons = list(scraps.get("retrain_reasons") or [])
        events.append(DriftDetected(version, f"drift detected against v{version}: " + "; ".join(reasons[1:]),
                                    bool(scraps.get("retrain")), scraps.get("data_drift_verdict")))
    return events


def trained(state: CycleState, scraps: dict[str, Any]) -> Events:
    state.model_version = int(scraps["model_version"])
    return [Trained(state.model_version, scraps.get("n_train_rows"))]


def scored(state: CycleState, scraps: dict[str, Any]) -> Events:
    events: Events = [Scored(state.model_version, "challenger", "test", scraps["metrics"])]
    if scraps.get("champion_metrics"):
        events.append(Scored(state.production_version, "champion", "test", scraps["champion_metrics"]))
    return events


def deployed(state: CycleState, scraps: dict[str, Any]) -> Events:
    state.deployed = True
    return [Deployed(int(scraps["deployed_version"]), state.production_version,
                     state.scrap("scoring", "metrics") or {}, state.decisions["deploy"].reason)]


def outcomes_arrived(state: CycleState, scraps: dict[str, Any]) -> Events:
    realised = list(scraps.get("realised") or [])
    return [OutcomesArrived(realised, int(scraps.get("n_unmatched") or 0))] + [
        Scored(r["model_version"], "production", "realised", r) for r in realised]


def risk_listed(state: CycleState, scraps: dict[str, Any]) -> Events:
    events: Events = [RiskListed(int(scraps["model_version"]), int(scraps["n_scored"]), dict(scraps["band_counts"]),
                                 list(scraps.get("top_clients") or []), str(scraps.get("risk_path")))]
    if scraps.get("estimate"):
        events.append(Scored(int(scraps["model_version"]), "production", "estimate", scraps["estimate"]))
    return events


def nothing(state: CycleState, scraps: dict[str, Any]) -> Events:
    return []
