"""Every key config.json understands, with its meaning: the source of the README's key table.

``python -m riskwatch.config_keys`` prints the table; a test checks that the README holds it, that
every key the loader knows is listed here (and nothing else), and that config.json shows them all.
Defaults are read from the sections' owners, never written here a second time.
"""

from __future__ import annotations

import json
from typing import Any

from riskwatch.config import (BASELINE_PATH_KEYS, DEFAULT_ALERTS, DEFAULT_DECISION, DEFAULT_DRIFT, DEFAULT_LOGGING,
                              DEFAULT_REPORT, DEFAULT_RISK, DEFAULT_RUNTIME, EXTRA_PATH_KEYS)
from riskwatch.compute_rules import DEFAULT_COMPUTE
from riskwatch.ingestion_rules import DEFAULT_INGESTION
from riskwatch.server_policy import DEFAULT_API, DEFAULT_DASHBOARD

SECTIONS: dict[str, dict[str, Any]] = {
    "drift": DEFAULT_DRIFT, "decision": DEFAULT_DECISION, "risk": DEFAULT_RISK, "ingestion": DEFAULT_INGESTION,
    "runtime": DEFAULT_RUNTIME, "report": DEFAULT_REPORT, "api": DEFAULT_API, "dashboard": DEFAULT_DASHBOARD,
    "alerts": DEFAULT_ALERTS, "logging": DEFAULT_LOGGING, "compute": DEFAULT_COMPUTE,
}

MEANINGS: dict[str, str] = {
    "input_folder_path": "folder of incoming client CSV files (set per mode in `modes`)",
    "output_folder_path": "ingested data: `finaldata.csv`, `ingestedfiles.json` (with content hashes), `ingestedfiles.txt`",
    "test_data_path": "labelled test data (a CSV or a folder of CSVs) every model is scored on",
    "output_model_path": "`trainedmodel.pkl`, `latestscore.txt`, `scores.json` of the latest trained model",
    "prod_deployment_path": "the deployed model, its score, the ingested-files list and the latest risk list",
    "quarantine_folder_path": "copies of refused files and the bad rows set aside, each with its reasons",
    "registry_path": "every trained model version and the production pointer",
    "outputs_path": "run folders, the ledger, logs and the lock",
    "mode": "the default mode when `--mode` is not given",
    "modes": "per-mode overrides of the keys above, e.g. `production` reads `data/sourcedata`",
    "description": "free text, ignored",
    "schema.id_column": "the client id column",
    "schema.numeric_features": "numeric feature columns",
    "schema.categorical_features": "categorical feature columns",
    "schema.target": "the outcome column (1 = the client left); files without it are clients to score",
    "schema.positive_label": "the target value that means 1 when targets are text (`Yes`, `churned`); "
                             "yes/no and true/false are understood without it",
    "model.estimator": "scikit-learn estimator class (`sklearn.…` only)",
    "model.params": "its parameters",
    "model.scale_numeric": "standardise numeric features before the estimator",
    "drift.small_sample_max_rows": "kept so older configs load; `auto` no longer switches on it",
    "drift.p_value_threshold": "p-value below which a test statistic (`ks`, `chi2`) counts as drift",
    "drift.ks_min_distinct": "numeric features with fewer distinct values are compared as categories",
    "drift.wasserstein_threshold": "normalised Wasserstein distance that counts as a practical change",
    "drift.jensenshannon_threshold": "Jensen-Shannon distance that counts as a practical change",
    "drift.psi_bins": "bins of the population stability index shown beside each feature",
    "drift.psi_bands": "PSI below the first is stable, above the second a major shift",
    "drift.drift_share": "share of features that must drift for the dataset to drift",
    "drift.min_rows": "fewer rows than this in the batch or the reference: no verdict",
    "drift.numeric_method": "`auto`, `wasserstein_norm` or `ks`",
    "drift.categorical_method": "`auto`, `jensenshannon` or `chi2`",
    "drift.false_alarm_rate": "the dataset verdict's false-alarm rate with no change at all",
    "drift.noise_replicates": "draws from the reference that set each feature's sampling-noise bound",
    "decision.retrain_on": "`either`, `both`, `data` or `score` drift triggers a retrain",
    "decision.score_rule": "`raw`, `parametric` or `nonparametric` score-drift rule",
    "decision.min_history": "scores of the deployed version (in this mode) a history rule needs before it decides",
    "decision.min_improvement": "a challenger is deployed only if its test F1 beats the champion's by more than this",
    "decision.estimated_drop": "retrain when the F1 estimated without labels falls this far below the test F1 (0: off)",
    "risk.bands": "risk bands, lowest first",
    "risk.cutoffs": "attrition probability where each next band starts",
    "risk.top": "clients named in the report, `status` and the dashboard",
    "ingestion.bad_rows": "`quarantine`: bad rows are set aside and the file's good rows ingested; "
                          "`refuse_file`: one bad row refuses the whole file",
    "runtime.kernel_name": "Jupyter kernel the stage notebooks run in",
    "runtime.execution_timeout": "seconds a notebook cell may take",
    "runtime.start_timeout": "seconds a kernel may take to start",
    "runtime.warm_kernels": "start each stage's kernel (and its imports) while the previous stage runs",
    "runtime.fork_kernels": "with warm_kernels: fork each kernel from one process that has done the imports",
    "runtime.side_by_side": "run the stages the stage list puts side by side at once (false: one after the other)",
    "report.chromium": "Chromium for the PDF (path or command); empty: `$RISKWATCH_CHROMIUM`, then the usual names",
    "report.index_url": "package index for the dependency check; empty: pip's own",
    "report.dependency_timeout": "seconds per index lookup; offline never fails the stage",
    "report.pdf": "write the PDF beside the HTML report",
    "api.host": "address `serve` binds (anything but loopback needs a token)",
    "api.port": "port `serve` listens on",
    "api.max_upload_bytes": "largest request body the API accepts",
    "api.url": "where `apicalls` finds the API; empty: http://host:port",
    "api.token": "bearer token the API and the dashboard require (`RISKWATCH_API_TOKEN` wins); "
                 "required beyond loopback",
    "dashboard.host": "address the dashboard binds (anything but loopback needs a token)",
    "dashboard.cull_idle_timeout": "seconds before an idle dashboard kernel is shut down (0: never)",
    "dashboard.cull_interval": "seconds between checks for idle kernels",
    "dashboard.cull_connected": "also cull idle kernels whose page is still open",
    "dashboard.preheat": "keep one kernel ready (imports done) for the next page; it reads the data when the page is asked for",
    "alerts.webhook_url": "URL that receives a JSON message per event; empty: no alerts",
    "alerts.timeout": "seconds per delivery; a failed one is retried on the next run",
    "alerts.events": "which events alert: `drift`, `deploy`, `reject`, `failure`",
    "logging.max_bytes": "size at which `outputs/logs/riskwatch.log` is rotated",
    "logging.backups": "rotated logs kept",
    "compute.engine": "`local` (this machine; ingestion streams through DuckDB) or `dask` (a Dask cluster)",
    "compute.memory_limit": "memory DuckDB may use for local ingestion before it spills to disk",
    "compute.threads": "DuckDB threads for local ingestion (0: one per core)",
    "compute.dask.scheduler_address": "a running Dask scheduler (`tcp://host:8786`); empty: start a LocalCluster",
    "compute.dask.n_workers": "workers of the LocalCluster",
    "compute.dask.threads_per_worker": "threads per LocalCluster worker",
    "compute.dask.memory_limit": "memory per LocalCluster worker (`auto`: the machine's share)",
    "compute.dask.training_sample_rows": "stratified sample of finaldata the model is fitted on under Dask",
    "compute.dask.blocksize": "CSV bytes per Dask partition",
}


def known_keys() -> list[str]:
    """Every key the loader understands, dotted for section keys."""
    top = [*BASELINE_PATH_KEYS, *EXTRA_PATH_KEYS, "mode", "modes", "description"]
    fixed = [f"schema.{k}" for k in ("id_column", "numeric_features", "categorical_features", "target",
                                      "positive_label")] + [f"model.{k}" for k in ("estimator", "params",
                                                                                    "scale_numeric")]
    return top + fixed + [name for section, defaults in SECTIONS.items() for name in _dotted(section, defaults)]


def _dotted(prefix: str, defaults: dict[str, Any]) -> list[str]:
    """``compute.engine``, ``compute.dask.n_workers``…: nested sections spelled out key by key."""
    return [name for key, value in defaults.items()
            for name in (_dotted(f"{prefix}.{key}", value) if isinstance(value, dict) else [f"{prefix}.{key}"])]


def default_of(key: str) -> str:
    section, *names = key.split(".")
    value: Any = SECTIONS.get(section)
    for name in names:
        if not isinstance(value, dict) or name not in value:
            return ""
        value = value[name]
    return json.dumps(value) if names and section in SECTIONS else ""


def key_table() -> str:
    """The README's table: key, default, meaning."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{key}` | {('`' + default_of(key) + '`') if default_of(key) else ''} | {MEANINGS[key]} |"
             for key in known_keys()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(key_table())
