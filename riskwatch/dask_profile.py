"""The reference profile built partition by partition and summed (:mod:`riskwatch.drift.profile`).

Two passes over the parts. The first sums, per numeric feature, the parts' exact value counts (on
the workers, while there are at most :data:`EXACT_DISTINCT` distinct values), which
give the whole column's bin edges exactly as :func:`~riskwatch.drift.profile.numeric_edges` computes
them on the whole sorted column; a column with more distinct values than that gets its edges from
per-part quantile sketches (:data:`SKETCH_LEVELS` levels, weighted by rows: close to the exact edges,
not equal). The second pass summarizes each part on those edges with
:func:`~riskwatch.drift.profile.summarize`; the summaries are merged (counts summed, moments
combined) and the noise table derived from the sum, as for a profile built in one piece.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.dask_parts import Part, map_reduce_parts
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import BINS, MAX_EXACT_VALUES, ReferenceProfile, summarize, with_noise_table
from riskwatch.drift.sorted_arrays import finite_sorted, runs_sorted, sum_runs

EXACT_DISTINCT = 1_000_000   # distinct values of a column counted exactly (per part and in all)
SKETCH_LEVELS = 10_001       # quantile levels of a part's sketch when a column has more


def column_values(frame: pd.DataFrame, numeric: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per numeric column of one part: its row count, its exact value counts when it has at most
    :data:`EXACT_DISTINCT` distinct values (else None), and its quantile sketch with its rows."""
    out = {}
    for name in numeric:
        values = finite_sorted(frame[name], name)
        entry: dict[str, Any] = {"n": int(values.size), "exact": (np.empty(0), np.zeros(0, dtype=np.int64)),
                                 "sketches": []}
        if values.size:
            points, counts = runs_sorted(values)
            entry["exact"] = (points, counts.astype(np.int64)) if points.size <= EXACT_DISTINCT else None
            sketch = np.quantile(values, np.linspace(0, 1, min(SKETCH_LEVELS, values.size)))
            entry["sketches"] = [(sketch, int(values.size))]
        out[name] = entry
    return out


def merge_column_values(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Two parts' :func:`column_values` as one (value counts summed while few enough)."""
    return {name: {"n": a[name]["n"] + b[name]["n"], "exact": merge_counts(a[name]["exact"], b[name]["exact"]),
                   "sketches": fold_sketches(a[name]["sketches"] + b[name]["sketches"])} for name in a}


def fold_sketches(sketches: list[tuple[np.ndarray, int]]) -> list[tuple[np.ndarray, int]]:
    """Several parts' sketches as one of :data:`SKETCH_LEVELS` levels over all their rows, so the
    merged entry keeps the same size however many parts are summed into it."""
    if len(sketches) < 2:
        return sketches
    levels = np.linspace(0, 1, SKETCH_LEVELS)
    return [(sketch_quantiles(sketches, levels), sum(n for _, n in sketches))]


def merge_counts(a: tuple[np.ndarray, np.ndarray] | None,
                 b: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Two value-count pairs summed over the union of their values (None: too many to count)."""
    if a is None or b is None:
        return None
    points, counts = sum_runs(a, b)
    return (points, counts) if points.size <= EXACT_DISTINCT else None


def quantiles_of_counts(points: np.ndarray, counts: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile`` (method "linear") of the column whose sorted values are ``points`` repeated
    ``counts`` times, without building it: the same virtual indexes and the same interpolation."""
    n = int(counts.sum())
    cumulative = np.cumsum(counts)
    virtual = (n - 1) * np.asarray(probabilities, dtype=np.float64)
    previous = np.floor(virtual)
    gamma = virtual - previous
    below = np.clip(previous.astype(np.int64), 0, n - 1)
    above = np.clip(below + 1, 0, n - 1)
    a = points[np.searchsorted(cumulative, below, side="right")]
    b = points[np.searchsorted(cumulative, above, side="right")]
    difference = b - a
    result = a + difference * gamma
    upper = gamma >= 0.5
    result[upper] = (b - difference * (1 - gamma))[upper]
    return result


def sketch_quantiles(sketches: Sequence[tuple[np.ndarray, int]], probabilities: np.ndarray) -> np.ndarray:
    """Quantiles of a column from its parts' sketches, each level weighted by its part's rows."""
    values = np.concatenate([s for s, _ in sketches])
    weights = np.concatenate([np.full(s.size, n / s.size) for s, n in sketches])
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cdf = (np.cumsum(weights) - weights / 2) / weights.sum()
    return np.interp(probabilities, cdf, values)


def edges_of(entry: Mapping[str, Any]) -> np.ndarray | None:
    """A column's bin edges from its merged first-pass entry, as ``numeric_edges`` would give them
    on the whole column (None: few enough distinct values to count them exactly)."""
    if not entry["n"]:
        return None
    levels = np.linspace(0, 1, BINS + 1)
    exact = entry["exact"]
    if exact is not None:
        if exact[0].size <= MAX_EXACT_VALUES:
            return None
        return np.unique(quantiles_of_counts(exact[0], exact[1], levels))
    return np.unique(sketch_quantiles(entry["sketches"], levels))


def profile_of_parts(client: Any, parts: Sequence[Part], numeric: Sequence[str], categorical: Sequence[str],
                     policy: DriftPolicy = DriftPolicy()) -> ReferenceProfile:
    """The profile of the table in ``parts``, built on the workers part by part and summed, with
    its noise table (the same profile as :func:`~riskwatch.drift.profile.build_profile` on the
    whole table, up to the rounding of the merged moments)."""
    numeric, categorical = list(numeric), list(categorical)
    first = map_reduce_parts(client, column_values, parts, merge_column_values, numeric) if numeric else {}
    edges = {name: edges_of(first[name]) for name in numeric}
    summed = map_reduce_parts(client, summarize, parts, ReferenceProfile.merge, numeric, categorical, edges)
    return with_noise_table(summed, policy)
