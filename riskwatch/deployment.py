"""Deployment: switch production to a registry version and keep the baseline's production
folder (``trainedmodel.pkl``, ``latestscore.txt``, ``ingestedfiles.txt``) in step with it.

The registry pointer is the truth and is switched first; the folder is then synced file by file
(each written atomically). If a crash falls between the two, :func:`sync_production_folder`
at the start of the next run finishes the job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.newdata import atomic_copy, atomic_write_text, file_sha256
from riskwatch.registry import Registry


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
        current = json.loads((prod / layout.DEPLOYMENT_INFO).read_text(encoding="utf-8"))
        model_ok = file_sha256(prod / layout.TRAINED_MODEL) == meta["artifact_sha256"]
    except (FileNotFoundError, json.JSONDecodeError):
        current, model_ok = {}, False
    score_ok = (prod / layout.LATEST_SCORE).exists() == (metrics.get("f1") is not None)
    if model_ok and current.get("version") == version and score_ok and (prod / layout.INGESTED_LIST).exists():
        return False
    artifact = registry.check(version)
    atomic_copy(artifact, prod / layout.TRAINED_MODEL)
    if metrics.get("f1") is not None:
        atomic_write_text(prod / layout.LATEST_SCORE, layout.latest_score_text(metrics["f1"]))
    else:
        (prod / layout.LATEST_SCORE).unlink(missing_ok=True)  # an unscored model must not show an old score
    names = [f["name"] for f in meta.get("training_files", [])]
    atomic_write_text(prod / layout.INGESTED_LIST, "".join(f"{n}\n" for n in names))
    # Written last: it is what says the folder is complete for this version.
    atomic_write_text(prod / layout.DEPLOYMENT_INFO, json.dumps(info, indent=1) + "\n")
    return True


def deploy_version(registry: Registry, version: int, prod_path: str | Path, run_id: str,
                   action: str = "deploy") -> dict[str, Any]:
    """Put ``version`` into production (pointer first, then the baseline's folder)."""
    pointer = registry.set_production(version, run_id, action)
    sync_production_folder(registry, prod_path)
    return pointer


def deploy_to_production(registry_path: str | Path, model_version: int | None,
                         prod_deployment_path: str | Path, run_id: str) -> dict[str, Any]:
    """Put ``model_version`` (default: the newest version) into production; returns the pointer.

    The version's status ("accepted") is the cycle's recorder's to write, with the gate's reason.
    """
    registry = Registry(Path(registry_path))
    if model_version is None:
        versions = registry.versions()
        if not versions:
            raise ValueError(f"no model in the registry at {registry_path}; run training first")
        model_version = versions[-1]
    return deploy_version(registry, model_version, prod_deployment_path, run_id)
