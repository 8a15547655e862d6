"""The pipeline on one screen: the stage list is the one source of the cycle's flow.

Each stage says its notebook, when it runs, which parameters it takes (from config or from the
cycle so far), the scraps it must glue, what it reads and writes, and what its scraps mean
(``then``: state for later stages, events for the recorder); some also say which stage they run
beside (``beside``) and what is done with the executed notebook (``after``, readied by
``prepare`` while the notebook runs). The runner loops over ``STAGES``; adding a stage is one
entry here plus a notebook.

Parameter sources are written as ``"config.<attribute>[.<key>]"`` or ``"run.<attribute>"`` (an
attribute of :class:`~riskwatch.cycle.CycleState`) and resolved to plain JSON values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from riskwatch import cycle, layout
from riskwatch.config import Config
from riskwatch.cycle import (ALWAYS, DEPLOY, MODEL_AND_NEW_ROWS, NEW_LABELS, NEW_ROWS, RETRAIN, TRAINED, CycleState,
                             Decide, When)
from riskwatch.events import ReportExported
from riskwatch.report_export import ExportAhead, export_cycle_report


def export_ahead(cfg: Config) -> ExportAhead:
    """Started with the report notebook: nbconvert and a Chromium ready for its export."""
    return ExportAhead(bool(cfg.report["pdf"]), cfg.report["chromium"] or None)


def export_report(cfg: Config, state: CycleState, notebook: Path, ahead: ExportAhead | None) -> list:
    """The executed report notebook to HTML and PDF (see :mod:`riskwatch.report_export`)."""
    exported = export_cycle_report(notebook, state.run_dir, bool(cfg.report["pdf"]),
                                   cfg.report["chromium"] or None, cfg.output_model_path, ahead)
    return [ReportExported(exported["html"], exported["pdf"], exported["message"])]


COMPUTE = {"compute": "config.compute"}  # the engine: local, or a Dask cluster (riskwatch.engine)
SCHEMA = {"id_column": "config.schema.id_column", "numeric_features": "config.schema.numeric_features",
          "categorical_features": "config.schema.categorical_features", "target": "config.schema.target"}
# Stages that read targets as written in a CSV also learn which text value means 1.
LABELLED_SCHEMA = {**SCHEMA, "positive_label": "config.schema.positive_label"}


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: str                       # a name in the notebooks folder, or an absolute path
    purpose: str
    runs_when: When | Decide
    parameters: Mapping[str, str]       # notebook parameter -> "config.…" or "run.…"
    scraps: tuple[str, ...] = ()        # glued by every successful run (besides stage_finished)
    reads: tuple[str, ...] = ()         # in words, for the README's stage table
    writes: tuple[str, ...] = ()
    then: Callable[[CycleState, dict[str, Any]], list] = cycle.nothing
    # File work on the executed notebook, given what ``prepare`` returned when the stage started
    # (work for ``after`` begun while the notebook runs; closed when the stage is over).
    after: Callable[[Config, CycleState, Path, Any], list] | None = None
    prepare: Callable[[Config], Any] | None = None
    # The stage just before this one, when neither reads what the other writes or decides: both
    # start together once the stages before them have ended (see :func:`side_by_side`).
    beside: str = ""

    def notebook_path(self, notebooks_folder: Path) -> Path:
        path = Path(self.notebook)
        return path if path.is_absolute() else notebooks_folder / path

    def resolve(self, cfg: Config, state: CycleState) -> dict[str, Any]:
        """The notebook's parameters as plain values."""
        return {name: resolve(source, cfg, state) for name, source in self.parameters.items()}


def resolve(source: str, cfg: Config, state: CycleState) -> Any:
    """``"config.decision.score_rule"`` → ``cfg.decision["score_rule"]``, as a JSON value."""
    root, _, path = source.partition(".")
    if root not in ("config", "run") or not path:
        raise ValueError(f"parameter source {source!r} must start with 'config.' or 'run.'")
    value: Any = cfg if root == "config" else state
    for part in path.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return plain(value)


def plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


STAGES: tuple[Stage, ...] = (
    Stage("ingestion", "01_ingestion.ipynb", "validate, merge and de-duplicate the input files", ALWAYS,
          {"input_folder": "config.input_folder_path", "output_folder": "config.output_folder_path",
           "quarantine_folder": "config.quarantine_folder_path", "batch_path": "run.batch_path",
           "run_id": "run.run_id", "redo_hashes": "run.redo_hashes", "known_files": "run.new_files",
           "labels_path": "run.labels_path", "bad_rows": "config.ingestion.bad_rows", **COMPUTE, **LABELLED_SCHEMA},
          scraps=cycle.INGESTION_SUMMARY, reads=("input folder", "ingested-files record"),
          writes=(layout.FINALDATA, "ingested-files record", layout.BATCH, layout.LABELS, "quarantine"),
          then=cycle.ingested),
    Stage("drift", "01b_drift.ipynb", "compare the new data with the deployed model's training data",
          MODEL_AND_NEW_ROWS,
          {"registry_path": "config.registry_path", "deployed_version": "run.production_version",
           "current_path": "run.batch_path", "drift_policy": "config.drift", "score_history": "run.score_history",
           "score_rule": "config.decision.score_rule", "min_history": "config.decision.min_history",
           "retrain_on": "config.decision.retrain_on", "mode": "config.mode",
           "estimated_drop": "config.decision.estimated_drop", **COMPUTE, **SCHEMA},
          scraps=("data_drift", "retrain", "retrain_reasons"), reads=(layout.BATCH, "registry"),
          then=cycle.drift_checked),
    Stage("labels", "01c_labels.ipynb", "measure earlier scorings against the outcomes that arrived", NEW_LABELS,
          {"labels_path": "run.labels_path", "runs_path": "config.runs_path", "run_id": "run.run_id", **SCHEMA},
          scraps=("realised", "n_unmatched"), reads=(layout.LABELS, f"earlier runs' {layout.RISK_SCORES}"),
          then=cycle.outcomes_arrived, beside="drift"),
    Stage("training", "02_training.ipynb", "fit a new model on finaldata", RETRAIN,
          {"finaldata_path": "config.finaldata_path", "record_path": "config.record_path",
           "registry_path": "config.registry_path", "output_model_path": "config.output_model_path",
           "run_id": "run.run_id", "estimator": "config.model.estimator", "estimator_params": "config.model.params",
           "scale_numeric": "config.model.scale_numeric", "drift_policy": "config.drift", **COMPUTE, **SCHEMA},
          scraps=("model_version", "n_train_rows"), reads=(layout.FINALDATA, "ingested-files record"),
          writes=("registry version (model, reference profile)", layout.TRAINED_MODEL), then=cycle.trained),
    Stage("scoring", "03_scoring.ipynb", "score the new model and apply the gate", TRAINED,
          {"registry_path": "config.registry_path", "model_version": "run.model_version",
           "champion_version": "run.production_version", "test_data_path": "config.test_data_path",
           "output_model_path": "config.output_model_path", "min_improvement": "config.decision.min_improvement",
           **COMPUTE, **LABELLED_SCHEMA},
          scraps=("model_version", "metrics", "promote", "gate_reason"), reads=("test data", "registry"),
          writes=("version metrics", layout.LATEST_SCORE, layout.SCORES), then=cycle.scored),
    Stage("deployment", "04_deployment.ipynb", "put the new model into production", DEPLOY,
          {"registry_path": "config.registry_path", "model_version": "run.model_version",
           "prod_deployment_path": "config.prod_deployment_path", "run_id": "run.run_id"},
          scraps=("deployed_version",), reads=("registry",),
          writes=("production pointer", "production folder"), then=cycle.deployed),
    Stage("risk", "04b_risk.ipynb", "score every client of the new data: the risk list", NEW_ROWS,
          {"registry_path": "config.registry_path", "batch_path": "run.batch_path", "risk_path": "run.risk_path",
           "prod_deployment_path": "config.prod_deployment_path", "bands": "config.risk.bands",
           "cutoffs": "config.risk.cutoffs", "top": "config.risk.top", **COMPUTE, **SCHEMA},
          scraps=("model_version", "n_scored", "band_counts", "top_clients"),
          reads=(layout.BATCH, "registry (production model)"),
          writes=(layout.RISK_SCORES, f"{layout.LATEST_RISK} beside the deployed model"), then=cycle.risk_listed),
    Stage("diagnostics", "05_diagnostics.ipynb", "diagnose data and model, check dependencies", ALWAYS,
          {"finaldata_path": "config.finaldata_path", "test_data_path": "config.test_data_path",
           "registry_path": "config.registry_path", "ledger_path": "config.ledger_path", "run_id": "run.run_id",
           "diagnostics_path": "run.diagnostics_path", "drift_policy": "config.drift",
           "index_url": "config.report.index_url", "dependency_timeout": "config.report.dependency_timeout",
           **LABELLED_SCHEMA},
          scraps=("diagnostics_path",), reads=(layout.FINALDATA, "test data", "registry", "ledger"),
          writes=(layout.DIAGNOSTICS,), beside="risk"),
    Stage("reporting", "06_reporting.ipynb", "write the report", ALWAYS,
          {"run_id": "run.run_id", "mode": "config.mode", "outcome": "run.outcome",
           "decisions": "run.decision_record", "drift_check": "run.drift_check",
           "registry_path": "config.registry_path", "ledger_path": "config.ledger_path",
           "diagnostics_path": "run.diagnostics_path", "test_data_path": "config.test_data_path",
           "output_model_path": "config.output_model_path", "candidate_version": "run.model_version",
           "risk_path": "run.risk_path", "risk_bands": "config.risk.bands", "risk_top": "config.risk.top",
           **LABELLED_SCHEMA},
          reads=(layout.DIAGNOSTICS, layout.RISK_SCORES, "registry", "ledger", "test data"),
          writes=("report.html/.pdf", layout.SUMMARY_REPORT, layout.CONFUSION_MATRIX),
          after=export_report, prepare=export_ahead),
)


def side_by_side(stages: tuple[Stage, ...], together: bool = True) -> list[tuple[Stage, ...]]:
    """The stages in running order, each stage that runs ``beside`` the one before it together with
    it (unless ``together`` is false: then each alone). A stage whose ``beside`` is not the one just
    before it (a stage was put in between) runs after the one before it, as any other."""
    groups: list[list[Stage]] = []
    for stage in stages:
        if together and groups and stage.beside and stage.beside == groups[-1][-1].name:
            groups[-1].append(stage)
        else:
            groups.append([stage])
    return [tuple(group) for group in groups]


def stage_table(stages: tuple[Stage, ...] = STAGES) -> str:
    """The README's "How it fits together" table, generated from the stage list."""
    rows = ["| stage | notebook | runs when | reads | writes |", "|---|---|---|---|---|"]
    for stage in stages:
        beside = f"; beside {stage.beside}" if stage.beside else ""
        rows.append(f"| {stage.name} | `{stage.notebook}` | {stage.runs_when.says}{beside} | "
                    f"{', '.join(stage.reads) or '—'} | {', '.join(stage.writes) or '—'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(stage_table())
