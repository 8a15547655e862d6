"""The pipeline on one screen: each stage's name, notebook and the parameters it receives.

Parameters are plain values derived from the one :class:`Config` and the run's context, so a
notebook never reads ``config.json`` itself. Adding a stage is a line here plus a notebook;
*when* a stage runs is decided in :mod:`riskwatch.pipeline` from the scraps of earlier stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from riskwatch.config import Config


@dataclass
class RunContext:
    """What a run knows so far; filled in as stages glue their scraps."""

    run_id: str
    run_dir: Path
    production_version: int | None = None
    redo_hashes: list[str] = field(default_factory=list)
    new_files: list[dict[str, Any]] = field(default_factory=list)  # hashed by the runner already
    score_history: list[float] = field(default_factory=list)
    model_version: int | None = None
    outcome: str = ""
    decisions: dict[str, Any] = field(default_factory=dict)
    drift_check: dict[str, Any] | None = None
    scraps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def batch_path(self) -> Path:
        return self.run_dir / "batch.parquet"

    @property
    def diagnostics_path(self) -> Path:
        return self.run_dir / "diagnostics.json"


Params = Callable[[Config, RunContext], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: str
    parameters: Params
    purpose: str


def _ingestion(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"input_folder": str(cfg.input_folder_path), "output_folder": str(cfg.output_folder_path),
            "quarantine_folder": str(cfg.quarantine_folder_path), "batch_path": str(ctx.batch_path),
            "run_id": ctx.run_id, "redo_hashes": ctx.redo_hashes, "known_files": ctx.new_files,
            **cfg.schema.as_params()}


def _drift(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"registry_path": str(cfg.registry_path), "deployed_version": ctx.production_version,
            "current_path": str(ctx.batch_path), "drift_policy": dict(cfg.drift),
            "score_history": ctx.score_history, "score_rule": cfg.decision["score_rule"],
            "min_history": cfg.decision["min_history"], "retrain_on": cfg.decision["retrain_on"],
            **cfg.schema.as_params()}


def _training(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"finaldata_path": str(cfg.finaldata_path), "record_path": str(cfg.record_path),
            "registry_path": str(cfg.registry_path), "output_model_path": str(cfg.output_model_path),
            "run_id": ctx.run_id, "estimator": cfg.model.estimator,
            "estimator_params": dict(cfg.model.params), "scale_numeric": cfg.model.scale_numeric,
            **cfg.schema.as_params()}


def _scoring(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"registry_path": str(cfg.registry_path), "model_version": ctx.model_version,
            "champion_version": ctx.production_version, "test_data_path": str(cfg.test_data_path),
            "output_model_path": str(cfg.output_model_path),
            "min_improvement": cfg.decision["min_improvement"], **cfg.schema.as_params()}


def _deployment(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"registry_path": str(cfg.registry_path), "model_version": ctx.model_version,
            "prod_deployment_path": str(cfg.prod_deployment_path), "run_id": ctx.run_id}


def _diagnostics(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"finaldata_path": str(cfg.finaldata_path), "test_data_path": str(cfg.test_data_path),
            "registry_path": str(cfg.registry_path), "ledger_path": str(cfg.ledger_path),
            "run_id": ctx.run_id, "diagnostics_path": str(ctx.diagnostics_path),
            "drift_policy": dict(cfg.drift), "index_url": cfg.report["index_url"],
            "dependency_timeout": float(cfg.report["dependency_timeout"]), **cfg.schema.as_params()}


def _reporting(cfg: Config, ctx: RunContext) -> dict[str, Any]:
    return {"run_id": ctx.run_id, "mode": cfg.mode, "outcome": ctx.outcome, "decisions": ctx.decisions,
            "drift_check": ctx.drift_check, "registry_path": str(cfg.registry_path),
            "ledger_path": str(cfg.ledger_path), "diagnostics_path": str(ctx.diagnostics_path),
            "test_data_path": str(cfg.test_data_path), "output_model_path": str(cfg.output_model_path),
            "candidate_version": ctx.model_version, **cfg.schema.as_params()}


INGESTION = Stage("ingestion", "01_ingestion.ipynb", _ingestion,
                  "validate, merge and de-duplicate the input files")
DRIFT = Stage("drift", "01b_drift.ipynb", _drift,
              "compare the new data with the deployed model's training data")
TRAINING = Stage("training", "02_training.ipynb", _training, "fit a new model on finaldata")
SCORING = Stage("scoring", "03_scoring.ipynb", _scoring, "score the new model and apply the gate")
DEPLOYMENT = Stage("deployment", "04_deployment.ipynb", _deployment, "put the new model into production")

DIAGNOSTICS = Stage("diagnostics", "05_diagnostics.ipynb", _diagnostics,
                    "diagnose data and model, check dependencies")
REPORTING = Stage("reporting", "06_reporting.ipynb", _reporting, "write the report")

STAGES: tuple[Stage, ...] = (INGESTION, DRIFT, TRAINING, SCORING, DEPLOYMENT, DIAGNOSTICS, REPORTING)
