"""The training stage's file work (notebook 02): read ``finaldata``, fit the model, store it as a
new registry version with the files it learnt from, and write the baseline's
``trainedmodel.pkl`` into the model output folder.

On the Dask engine the model is fitted on a stratified sample of finaldata that fits the driver
(all of it when it is small enough) and the reference profile is built partition by partition
(:mod:`riskwatch.dask_training`); the version's metadata says how it was trained (``training``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from sklearn.pipeline import Pipeline

from riskwatch import layout
from riskwatch.config import Schema
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import build_profile
from riskwatch.estimation import fit_calibrator
from riskwatch.model import TrainingError, train_model
from riskwatch.newdata import atomic_copy, atomic_write_text, file_sha256, read_record
from riskwatch.registry import Registry
from riskwatch.tables import read_finaldata


def train_and_register(finaldata_path: str, record_path: str, registry_path: str, output_model_path: str,
                       schema: Schema, estimator: str, params: Mapping[str, Any], scale_numeric: bool,
                       run_id: str, drift_policy: Mapping[str, Any] | None = None,
                       engine: Any = None) -> tuple[int, Pipeline, pd.DataFrame]:
    """Train on ``finaldata`` and store the model as a new registry version (with the hashes of the
    files it learnt from and the reference profile later drift checks compare with); also write the
    baseline's ``trainedmodel.pkl`` to ``output_model_path``. ``engine`` (from
    :func:`riskwatch.engine.open_engine`; None: this process) says where the data is read; the
    returned frame is what the model was fitted on."""
    empty = nothing_to_train_on(finaldata_path, record_path)
    if empty is not None:
        raise TrainingError(empty)
    policy = DriftPolicy.from_mapping(drift_policy or {})
    if engine is not None and engine.distributed:
        from riskwatch.dask_training import training_data_on_cluster

        data, profile, training = training_data_on_cluster(engine.client, finaldata_path, schema,
                                                           engine.training_sample_rows, engine.blocksize, policy)
    else:
        data = read_finaldata(finaldata_path, schema)  # typed Parquet copy, or the CSV validated
        profile = build_profile(data, schema.numeric_features, schema.categorical_features, policy)
        training = {"engine": "local", "sample": "all rows"}
    model = train_model(data, schema, estimator, params, scale_numeric)
    registry = Registry(Path(registry_path))
    version = registry.register(model, data, {
        "run_id": run_id,
        "estimator": estimator,
        "params": dict(params),
        "scale_numeric": scale_numeric,
        "features": {"numeric": list(schema.numeric_features),
                     "categorical": list(schema.categorical_features)},
        "id_column": schema.id_column,
        "target": schema.target,
        "finaldata_sha256": file_sha256(finaldata_path),
        "training_files": files_in_finaldata(record_path),
        "training": training,  # where it was trained, on all rows or on which sample
    }, profile=profile.to_dict(), calibrator=fit_calibrator(model, data, schema))
    out = Path(output_model_path)
    out.mkdir(parents=True, exist_ok=True)
    atomic_copy(registry.check(version), out / layout.TRAINED_MODEL)
    atomic_write_text(out / layout.MODEL_VERSION, json.dumps({"version": version}) + "\n")
    return version, model, data


def nothing_to_train_on(finaldata_path: str, record_path: str) -> str | None:
    """None when ``finaldata`` holds labelled rows; else why there is nothing valid to train on,
    naming what was quarantined and where."""
    path = Path(finaldata_path)
    if path.is_file():
        with open(path, encoding="utf-8") as handle:
            if handle.readline() and handle.readline().strip():
                return None
    refused = [e for e in read_record(record_path) if e.get("status") == "quarantined"]
    where = sorted({str(Path(e["quarantined_as"]).parent) for e in refused if e.get("quarantined_as")})
    return (f"nothing valid to train on: no labelled client rows were ingested into {path.name}"
            + (f"; {len(refused)} file(s) were quarantined (see {', '.join(where)})" if refused else
               "; the input folder holds no labelled file (features and the target)"))


def files_in_finaldata(record_path: str) -> list[dict[str, Any]]:
    """Name, hash, rows and ingestion time of each file merged into the current finaldata."""
    try:
        record = json.loads(Path(record_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    merged = set(record.get("finaldata", {}).get("sha256", []))
    return [{k: e.get(k) for k in ("name", "sha256", "rows", "ingested_at")}
            for e in record.get("files", []) if e.get("sha256") in merged]
