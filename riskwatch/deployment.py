"""Deployment: switch production to a registry version and keep the baseline's production
folder (``trainedmodel.pkl``, ``latestscore.txt``, ``ingestedfiles.txt``) in step with it.

The registry pointer is the truth and is switched first; the folder is then synced file by file
(each written atomically). If a crash falls between the two, :func:`sync_production_folder`
at the start of the next run finishes the job.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from riskwatch.newdata import atomic_write_text, file_sha256
from riskwatch.registry import Registry

MODEL_FILE = "trainedmodel.pkl"
SCORE_FILE = "latestscore.txt"
RECORD_FILE = "ingestedfiles.txt"
INFO_FILE = "deployment.json"


def format_score(f1: float) -> str:
    """The baseline's latestscore.txt holds the bare F1 number."""
    return f"{f1}\n"


def sync_production_folder(registry: Registry, prod_path: str | Path) -> bool:
    """Make the production folder match the registry's production version; True if it changed."""
    version = registry.production_version()
    if version is None:
        return False
    prod = Path(prod_path)
    prod.mkdir(parents=True, exist_ok=True)
    meta = registry.metadata(version)
    metrics = registry.metrics(version) or {}
    info = {"version": version, "artifact_sha256": meta["artifact_sha256"],
            "f1": metrics.get("f1"), "pointer": registry.production()}
    try:
        current = json.loads((prod / INFO_FILE).read_text(encoding="utf-8"))
        model_ok = file_sha256(prod / MODEL_FILE) == meta["artifact_sha256"]
    except (FileNotFoundError, json.JSONDecodeError):
        current, model_ok = {}, False
    score_ok = (prod / SCORE_FILE).exists() == (metrics.get("f1") is not None)
    if model_ok and current.get("version") == version and score_ok and (prod / RECORD_FILE).exists():
        return False
    artifact = registry.check(version)
    tmp = prod / f".{MODEL_FILE}.{os.getpid()}.tmp"
    shutil.copyfile(artifact, tmp)
    os.replace(tmp, prod / MODEL_FILE)
    if metrics.get("f1") is not None:
        atomic_write_text(prod / SCORE_FILE, format_score(metrics["f1"]))
    else:
        (prod / SCORE_FILE).unlink(missing_ok=True)  # an unscored model must not show an old score
    names = [f["name"] for f in meta.get("training_files", [])]
    atomic_write_text(prod / RECORD_FILE, "".join(f"{n}\n" for n in names))
    # Written last: it is what says the folder is complete for this version.
    atomic_write_text(prod / INFO_FILE, json.dumps(info, indent=1) + "\n")
    return True


def deploy_version(registry: Registry, version: int, prod_path: str | Path, run_id: str,
                   action: str = "deploy") -> dict[str, Any]:
    """Put ``version`` into production (pointer first, then the baseline's folder)."""
    pointer = registry.set_production(version, run_id, action)
    sync_production_folder(registry, prod_path)
    return pointer


def accept_and_deploy(registry_path: str | Path, model_version: int | None, prod_deployment_path: str | Path,
                      run_id: str) -> dict[str, Any]:
    """Mark the version accepted and put it into production (default: the newest version)."""
    registry = Registry(Path(registry_path))
    if model_version is None:
        versions = registry.versions()
        if not versions:
            raise ValueError(f"no model in the registry at {registry_path}; run training first")
        model_version = versions[-1]
    registry.set_status(model_version, "accepted", "passed the champion/challenger gate", run_id=run_id)
    return deploy_version(registry, model_version, prod_deployment_path, run_id)
