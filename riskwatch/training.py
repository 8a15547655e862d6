"""Training: one scikit-learn ``Pipeline`` (preprocessing + estimator), saved as one artifact,
so training, scoring and serving share the same feature code."""

from __future__ import annotations

import importlib
from typing import Any, Mapping

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from riskwatch.config import ALLOWED_ESTIMATOR_PREFIX, Schema


class TrainingError(ValueError):
    """The data or the model settings do not allow training; the message says why."""


def make_estimator(estimator: str, params: Mapping[str, Any]) -> BaseEstimator:
    """Instantiate a scikit-learn estimator from its dotted class path and parameters."""
    if not estimator.startswith(ALLOWED_ESTIMATOR_PREFIX):
        raise TrainingError(f"only scikit-learn estimators are allowed, got {estimator!r}")
    module_name, _, class_name = estimator.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise TrainingError(f"no estimator {estimator!r} in this scikit-learn") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise TrainingError(f"bad parameters for {class_name}: {exc}") from None


def build_pipeline(schema: Schema, estimator: str, params: Mapping[str, Any],
                   scale_numeric: bool = False) -> Pipeline:
    """Preprocessing for the configured columns followed by the estimator.

    Numeric columns are imputed (median) and, only when asked, scaled: the baseline fits raw
    values, and its published scores depend on that.
    """
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale_numeric:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if schema.numeric_features:
        transformers.append(("numeric", Pipeline(numeric_steps), list(schema.numeric_features)))
    if schema.categorical_features:
        categorical = Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ])
        transformers.append(("categorical", categorical, list(schema.categorical_features)))
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", preprocess), ("model", make_estimator(estimator, params))])


def train_model(data: pd.DataFrame, schema: Schema, estimator: str, params: Mapping[str, Any],
                scale_numeric: bool = False) -> Pipeline:
    """Fit the configured pipeline on ``data``; refuse data a classifier cannot learn from."""
    if data.empty:
        raise TrainingError("no rows to train on")
    classes = data[schema.target].nunique()
    if classes < 2:
        raise TrainingError(f"'{schema.target}' has a single class in the training data; "
                            "a classifier needs both 0 and 1")
    pipeline = build_pipeline(schema, estimator, params, scale_numeric)
    pipeline.fit(data[list(schema.features)], data[schema.target])
    return pipeline


def train_and_register(finaldata_path: str, record_path: str, registry_path: str, output_model_path: str,
                       schema: Schema, estimator: str, params: Mapping[str, Any], scale_numeric: bool,
                       run_id: str) -> tuple[int, Pipeline, pd.DataFrame]:
    """Train on ``finaldata`` and store the model as a new registry version (with the hashes of the
    files it learnt from); also write the baseline's ``trainedmodel.pkl`` to ``output_model_path``."""
    import json
    import shutil
    from pathlib import Path

    from riskwatch.newdata import atomic_write_text, file_sha256
    from riskwatch.registry import Registry

    from riskwatch.ingestion import read_table

    data = read_table(finaldata_path, schema)  # the schema's types, as at scoring time
    model = train_model(data, schema, estimator, params, scale_numeric)
    training_files = files_in_finaldata(record_path)
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
        "training_files": training_files,
    })
    out = Path(output_model_path)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".trainedmodel.pkl.tmp"
    shutil.copyfile(registry.check(version), tmp)
    tmp.replace(out / "trainedmodel.pkl")
    atomic_write_text(out / "model_version.json", json.dumps({"version": version}) + "\n")
    return version, model, data


def files_in_finaldata(record_path: str) -> list[dict[str, Any]]:
    """Name, hash, rows and ingestion time of each file merged into the current finaldata."""
    import json
    from pathlib import Path

    try:
        record = json.loads(Path(record_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    merged = set(record.get("finaldata", {}).get("sha256", []))
    return [{k: e.get(k) for k in ("name", "sha256", "rows", "ingested_at")}
            for e in record.get("files", []) if e.get("sha256") in merged]
