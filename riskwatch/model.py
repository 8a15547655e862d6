"""The model: one scikit-learn ``Pipeline`` (preprocessing + estimator), so training, scoring and
serving share the same feature code. Pure: a frame in, a fitted pipeline out."""

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
