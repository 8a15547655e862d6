"""Fast scoring for the API: the same numbers as the scikit-learn pipeline, less overhead.

A request for one client spends most of its time in scikit-learn's per-call machinery
(ColumnTransformer, validation), not in arithmetic. For the pipelines riskwatch builds by default —
median imputation, optional standard scaling, a binary linear model with ``predict_proba`` from the
logistic function — :func:`compile_scorer` evaluates the same formula with numpy. Any other
pipeline falls back to ``predict_proba`` unchanged. Tests check both paths agree to 1e-12.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.special import expit

from riskwatch.config import Schema

Scorer = Callable[[pd.DataFrame], np.ndarray]


def _generic(model: Any, schema: Schema) -> Scorer:
    features = list(schema.features)
    positive = list(model.classes_).index(1)

    def score(frame: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(frame[features])[:, positive]

    return score


def compile_scorer(model: Any, schema: Schema) -> tuple[Scorer, str]:
    """A function frame → P(class 1), and which path it takes ("numpy" or "sklearn")."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    generic = _generic(model, schema), "sklearn"
    if schema.categorical_features or not isinstance(model, Pipeline) or len(model.steps) != 2:
        return generic
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or not isinstance(estimator, LogisticRegression):
        return generic
    if list(estimator.classes_) != [0, 1] or estimator.coef_.shape[0] != 1:
        return generic
    fitted = [t for t in preprocess.transformers_ if t[0] != "remainder"]
    if len(fitted) != 1 or not isinstance(fitted[0][1], Pipeline) or list(fitted[0][2]) != list(schema.numeric_features):
        return generic
    steps = [s for _, s in fitted[0][1].steps]
    if not steps or not isinstance(steps[0], SimpleImputer) or steps[0].strategy not in ("median", "mean") \
            or any(not isinstance(s, StandardScaler) for s in steps[1:]) or len(steps) > 2:
        return generic
    fill = steps[0].statistics_.astype("float64")
    mean = steps[1].mean_ if len(steps) == 2 and steps[1].with_mean else 0.0
    scale = steps[1].scale_ if len(steps) == 2 and steps[1].with_std else 1.0
    weights = (estimator.coef_[0] / scale).astype("float64")
    intercept = float(estimator.intercept_[0] - np.dot(np.broadcast_to(mean, weights.shape), weights))
    columns = list(schema.numeric_features)

    def score(frame: pd.DataFrame) -> np.ndarray:
        x = frame[columns].to_numpy(dtype="float64", copy=True)
        missing = np.isnan(x)
        if missing.any():
            x[missing] = np.take(fill, np.nonzero(missing)[1])
        return expit(x @ weights + intercept)  # what LogisticRegression.predict_proba uses

    return score, "numpy"
