"""The reference profile: what the drift check needs of a model's training data, stored with the
model version, so a check reads a few kilobytes instead of the whole training data.

Per numeric feature: exact value counts when it has at most :data:`MAX_EXACT_VALUES` distinct
values, otherwise counts in :data:`BINS` quantile bins; count, mean and spread; per categorical
feature: category counts. Profiles are mergeable: summing the profiles of partitions built on the
same bin edges (:func:`summarize` with ``edges``) gives the profile of the whole, so a distributed
engine can build them by parts. The noise bounds (:mod:`riskwatch.drift.noise`) are derived from
the merged counts by :func:`with_noise_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.drift import noise, registry
from riskwatch.drift.policy import DriftPolicy, feature_quantile
from riskwatch.drift.sorted_arrays import finite_sorted, runs_sorted, sum_runs

MAX_EXACT_VALUES = 1000
BINS = 1000
POOL_SIZE = 20_000       # rows of the reconstruction a check compares against


@dataclass(frozen=True)
class NumericSummary:
    """``kind`` "values": ``points`` are the distinct values and ``counts`` their counts;
    "bins": ``points`` are bin edges (first bin [e0, e1], then (e_i, e_i+1]) and ``counts`` per bin."""

    kind: str
    points: np.ndarray
    counts: np.ndarray
    n: int
    mean: float
    m2: float            # sum of squared deviations from the mean (merged with Chan's formula)
    missing: int = 0

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n else float("nan")

    def quantiles(self, probabilities: np.ndarray) -> np.ndarray:
        if self.kind == "values":
            cumulative = np.cumsum(self.counts) / self.n
            index = np.minimum(np.searchsorted(cumulative, probabilities, side="left"), self.points.size - 1)
            return self.points[index]
        cdf = np.r_[0.0, np.cumsum(self.counts)] / self.n
        return np.interp(probabilities, cdf, self.points)

    def pool(self, size: int = POOL_SIZE) -> np.ndarray:
        """A sorted sample reconstructing the reference: its quantiles at evenly spaced levels
        (the reference itself for exact values and n ≤ ``size``)."""
        k = max(1, min(self.n, size))
        return self.quantiles((np.arange(k) + 0.5) / k)

    def merge(self, other: NumericSummary) -> NumericSummary:
        if self.kind != other.kind or (self.kind == "bins" and not np.array_equal(self.points, other.points)):
            raise ValueError("numeric summaries merge only with the same bin edges")
        if self.kind == "values":
            points, counts = sum_runs((self.points, self.counts), (other.points, other.counts))
        else:
            points, counts = self.points, self.counts + other.counts
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n if n else 0.0
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n if n else 0.0
        return NumericSummary(self.kind, points, counts, n, mean, m2, self.missing + other.missing)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "points": self.points.tolist(), "counts": self.counts.tolist(), "n": self.n,
                "mean": self.mean, "m2": self.m2, "missing": self.missing}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NumericSummary:
        return cls(d["kind"], np.asarray(d["points"], dtype=np.float64), np.asarray(d["counts"], dtype=np.int64),
                   int(d["n"]), float(d["mean"]), float(d["m2"]), int(d.get("missing", 0)))


def numeric_edges(values: np.ndarray) -> np.ndarray | None:
    """Bin edges for a sorted column, or None when exact value counts are small enough."""
    if values.size == 0 or (np.count_nonzero(values[1:] != values[:-1]) + 1) <= MAX_EXACT_VALUES:
        return None
    return np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)))


def summarize_numeric(series: pd.Series, name: str, edges: np.ndarray | None = None) -> NumericSummary:
    """The summary of one column; pass ``edges`` to count a partition on the whole's bins."""
    values = finite_sorted(series, name)
    missing = int(len(series) - values.size)
    n = int(values.size)
    mean = float(values.mean()) if n else 0.0
    m2 = float(((values - mean) ** 2).sum()) if n else 0.0
    if edges is None:
        edges = numeric_edges(values)
    if edges is None:
        points, counts = runs_sorted(values) if n else (values, np.zeros(0, dtype=np.int64))
        return NumericSummary("values", points, counts.astype(np.int64), n, mean, m2, missing)
    upper = np.searchsorted(values, edges[1:], side="right")
    upper[-1] = n  # values above the last edge (a partition's outliers) count in the last bin
    counts = np.diff(np.r_[0, upper]).astype(np.int64)
    return NumericSummary("bins", np.asarray(edges, dtype=np.float64), counts, n, mean, m2, missing)


def category_counts(series: pd.Series) -> dict[str, int]:
    counts = series.dropna().astype(str).value_counts(sort=False)
    return {str(k): int(v) for k, v in counts.items() if v > 0}


@dataclass(frozen=True)
class ReferenceProfile:
    """The drift check's view of a reference. ``noise`` maps feature → the statistic its bounds are
    for and the bound per bucket batch size; it is derived, so merging drops it."""

    n_rows: int
    numeric: dict[str, NumericSummary]
    categorical: dict[str, dict[str, int]]
    noise: dict[str, dict[str, Any]] = field(default_factory=dict)
    noise_settings: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: ReferenceProfile) -> ReferenceProfile:
        if set(self.numeric) != set(other.numeric) or set(self.categorical) != set(other.categorical):
            raise ValueError("profiles merge only over the same features")
        categorical = {}
        for name, counts in self.categorical.items():
            merged = dict(counts)
            for category, count in other.categorical[name].items():
                merged[category] = merged.get(category, 0) + count
            categorical[name] = merged
        return ReferenceProfile(self.n_rows + other.n_rows,
                                {k: v.merge(other.numeric[k]) for k, v in self.numeric.items()}, categorical)

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": self.n_rows, "numeric": {k: v.to_dict() for k, v in self.numeric.items()},
                "categorical": self.categorical,
                "noise": {k: {"statistic": v["statistic"], "bounds": {str(b): x for b, x in v["bounds"].items()}}
                          for k, v in self.noise.items()},
                "noise_settings": self.noise_settings}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReferenceProfile:
        noise_table = {k: {"statistic": v["statistic"], "bounds": {int(b): float(x) for b, x in v["bounds"].items()}}
                       for k, v in d.get("noise", {}).items()}
        return cls(int(d["n_rows"]), {k: NumericSummary.from_dict(v) for k, v in d["numeric"].items()},
                   {k: {str(c): int(n) for c, n in v.items()} for k, v in d["categorical"].items()},
                   noise_table, dict(d.get("noise_settings", {})))


def summarize(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
              edges: Mapping[str, np.ndarray | None] | None = None) -> ReferenceProfile:
    """Counts and moments of ``frame`` (no noise table): the mergeable part of a profile."""
    edges = edges or {}
    return ReferenceProfile(len(frame), {name: summarize_numeric(frame[name], name, edges.get(name))
                                         for name in numeric},
                            {name: category_counts(frame[name]) for name in categorical})


def noise_settings(policy: DriftPolicy, n_features: int) -> dict[str, Any]:
    """What a noise table depends on besides the data; a table made for other settings is redone."""
    return {"quantile": feature_quantile(n_features, policy.drift_share, policy.false_alarm_rate),
            "replicates": policy.noise_replicates, "numeric": registry.choose("numeric", 0, policy).name,
            "categorical": registry.choose("categorical", 0, policy).name}


def with_noise_table(profile: ReferenceProfile, policy: DriftPolicy) -> ReferenceProfile:
    """The profile with its noise bounds tabulated per bucket batch size, for ``policy``'s
    statistics (computed once per model version; a check then only looks them up)."""
    table: dict[str, dict[str, Any]] = {}
    settings = noise_settings(policy, len(profile.numeric) + len(profile.categorical))
    quantile = settings["quantile"]
    numeric_statistic = registry.choose("numeric", profile.n_rows, policy)
    categorical_statistic = registry.choose("categorical", profile.n_rows, policy)
    for name, summary in profile.numeric.items():
        if summary.n == 0:
            continue
        statistic = numeric_statistic
        if summary.kind == "values" and summary.points.size < policy.ks_min_distinct and statistic.frequency_fallback:
            statistic = registry.get(statistic.frequency_fallback)
            bounds = {m: noise.counts_bound(statistic, summary.counts, summary.n, m, quantile,
                                            policy.noise_replicates, name) for m in noise.BUCKETS}
        else:
            pool, scale = summary.pool(), spread(summary)
            bounds = {m: noise.numeric_bound(statistic, pool, scale, summary.n, m, quantile,
                                             policy.noise_replicates, name) for m in noise.BUCKETS}
        if None not in bounds.values():
            table[name] = {"statistic": statistic.name, "bounds": bounds}
    for name, counts in profile.categorical.items():
        values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        n = int(values.sum())
        if n == 0:
            continue
        bounds = {m: noise.counts_bound(categorical_statistic, values, n, m, quantile,
                                        policy.noise_replicates, name) for m in noise.BUCKETS}
        if None not in bounds.values():
            table[name] = {"statistic": categorical_statistic.name, "bounds": bounds}
    return replace(profile, noise=table, noise_settings=settings)


def spread(summary: NumericSummary) -> float:
    """What a numeric feature's Wasserstein distance is divided by: the population std, or for a
    constant feature its magnitude (or 1 at zero), as :class:`~riskwatch.drift.statistics.Samples`."""
    if summary.m2 > 0:
        return summary.std
    return abs(summary.mean) or 1.0


def build_profile(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str],
                  policy: DriftPolicy = DriftPolicy()) -> ReferenceProfile:
    """The profile of a reference frame, with its noise table."""
    return with_noise_table(summarize(frame, numeric, categorical), policy)
