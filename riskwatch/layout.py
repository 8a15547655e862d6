"""Every artifact's name and place, defined once.

The baseline's names (``finaldata.csv``, ``ingestedfiles.txt``, ``trainedmodel.pkl``,
``latestscore.txt``, ``summary_report.pdf``, ``confusionmatrix.png``, ``apireturns.txt``) are kept
so its users find their files where they always were. Nobody else spells these names: modules
ask this one (or the :class:`~riskwatch.config.Config` properties built on it) for paths.
Standard library only: the cron tick uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# ---- ingested data (config: output_folder_path)
FINALDATA = "finaldata.csv"              # every valid row, de-duplicated (baseline)
FINALDATA_PARQUET = "finaldata.parquet"  # the same rows, typed, for stages that read only some columns
INGEST_SPILL = ".ingest-tmp"             # DuckDB's spill folder and staged parts while ingesting
INGESTED_RECORD = "ingestedfiles.json"   # each input file with its content hash and status
INGESTED_LIST = "ingestedfiles.txt"      # the baseline's record: one file name per line

# ---- model outputs (config: output_model_path) and the production folder
TRAINED_MODEL = "trainedmodel.pkl"       # baseline
LATEST_SCORE = "latestscore.txt"         # baseline: the bare F1 number
SCORES = "scores.json"                   # every metric of the latest scoring
MODEL_VERSION = "model_version.json"     # which registry version trainedmodel.pkl is
SUMMARY_REPORT = "summary_report.pdf"    # baseline
CONFUSION_MATRIX = "confusionmatrix.png" # baseline
API_RETURNS_JSON = "apireturns.json"
API_RETURNS_TXT = "apireturns.txt"       # baseline
DEPLOYMENT_INFO = "deployment.json"      # written last: the production folder is complete
LATEST_RISK = "risk_scores.csv"          # in the production folder: the latest cycle's risk list

# ---- model registry (config: registry_path)
PRODUCTION_POINTER = "production.json"
VERSION_METADATA = "metadata.json"
VERSION_METRICS = "metrics.json"
VERSION_STATUS = "status.json"
VERSION_ARTIFACT = "model.joblib"
VERSION_TRAINING_DATA = "training_data.parquet"
VERSION_PROFILE = "reference_profile.json"  # what the drift check compares new data with
VERSION_CALIBRATOR = "calibrator.joblib"    # maps the model's probabilities to calibrated ones

# ---- one run's folder (outputs/runs/<run id>)
RUN_RECORD = "run.json"
BATCH = "batch.parquet"                  # the de-duplicated rows of this run's new files
DIAGNOSTICS = "diagnostics.json"
RISK_SCORES = "risk_scores.csv"          # every client of the batch, highest attrition risk first
LABELS = "labels.parquet"                # outcomes that arrived for clients scored earlier
REPORT_STEM = "report"                   # report.html, report.pdf

# ---- project state (config: outputs_path)
RUNS = "runs"
LEDGER = "ledger.sqlite"
LOCK = "riskwatch.lock"
PENDING_CYCLE = "pending_cycle.json"     # a cycle that started and did not finish
PENDING_ALERTS = "alerts_pending.jsonl"
INTEGRITY_ALERTED = "integrity_alerted.txt"  # the damaged-model problem already alerted on
LOG = "logs/riskwatch.log"
CRON_LOG = "logs/cron.log"
KERNEL_CACHE = ".cache"                  # IPYTHONDIR and MPLCONFIGDIR for kernels under cron


def latest_score_text(f1: float) -> str:
    """The content of the baseline's ``latestscore.txt``: the bare F1 number."""
    return f"{f1}\n"


@dataclass(frozen=True)
class RunFolder:
    """The files of one run, under ``outputs/runs/<run id>``."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def record(self) -> Path:
        return self.path / RUN_RECORD

    @property
    def batch(self) -> Path:
        return self.path / BATCH

    @property
    def diagnostics(self) -> Path:
        return self.path / DIAGNOSTICS

    @property
    def risk_scores(self) -> Path:
        return self.path / RISK_SCORES

    @property
    def labels(self) -> Path:
        return self.path / LABELS

    def notebook(self, name: str) -> Path:
        return self.path / Path(name).name

    def report(self, suffix: str) -> Path:
        return self.path / f"{REPORT_STEM}.{suffix}"


def latest_run_with(runs_path: Path, name: str) -> Path | None:
    """The newest run folder's file ``name`` (e.g. ``DIAGNOSTICS``), if any run wrote one."""
    if not runs_path.is_dir():
        return None
    for run in sorted(runs_path.iterdir(), reverse=True):
        if (run / name).is_file():
            return run / name
    return None
