"""The risk list: every client of a batch with the deployed model's attrition probability,
predicted class and risk band, highest risk first. Pure: a model and a frame in, a frame out."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Schema

RISK_COLUMNS = ("probability", "predicted", "risk_band", "model_version")


def risk_band(probability: Sequence[float] | np.ndarray, bands: Sequence[str], cutoffs: Sequence[float]) -> np.ndarray:
    """The band of each probability: ``bands[i]`` from ``cutoffs[i-1]`` (inclusive) up."""
    return np.asarray(bands, dtype=object)[np.searchsorted(np.asarray(cutoffs), probability, side="right")]


def risk_list(model: Any, clients: pd.DataFrame, schema: Schema, version: int, risk: Mapping[str, Any]) -> pd.DataFrame:
    """id, probability, predicted, risk band and model version of every client, highest risk first
    (ties keep the file's order)."""
    return highest_first(scored_clients(model, clients, schema, version, risk))


def scored_clients(model: Any, clients: pd.DataFrame, schema: Schema, version: int,
                   risk: Mapping[str, Any]) -> pd.DataFrame:
    """The risk list's rows in the file's order (a partition's share of :func:`risk_list`)."""
    # Imported here: reading a list (status, the API, the dashboard) must not pay for scikit-learn.
    from riskwatch.metrics import predict_risk

    scored = predict_risk(model, clients, schema)
    scored["risk_band"] = risk_band(scored["probability"].to_numpy(), risk["bands"], risk["cutoffs"])
    scored["model_version"] = version
    return scored


def highest_first(scored: pd.DataFrame) -> pd.DataFrame:
    """Rows by probability, highest first; ties keep their order (partitions concatenated in file
    order sort as the whole file would)."""
    return scored.sort_values("probability", ascending=False, kind="stable", ignore_index=True)


def band_counts(table: pd.DataFrame, bands: Sequence[str]) -> dict[str, int]:
    """Clients per band, every configured band listed (highest first, as a manager reads it)."""
    counts = table["risk_band"].value_counts()
    return {band: int(counts.get(band, 0)) for band in reversed(list(bands))}
