"""Data drift: compare a reference (a frame, or a model version's profile) with a current frame
feature by feature.

The policy, through :func:`riskwatch.drift.registry.choose`, picks one statistic per kind of
feature (by default the distances). A distance counts as drift only when it reaches its
threshold **and** exceeds the sampling-noise bound for this reference and batch size
(:mod:`riskwatch.drift.noise`); a p-value statistic decides by its p-value. Every feature also
gets an effect size and a PSI, whatever the statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.drift import noise, registry
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import NumericSummary, ReferenceProfile, noise_settings, spread
from riskwatch.drift.registry import Statistic
from riskwatch.drift.report import TOO_FEW, DataDriftReport, FeatureDrift
from riskwatch.drift.sorted_arrays import few_value_counts, finite_sorted, psi_counts, psi_sorted
from riskwatch.drift.statistics import Counts, Outcome, Samples

_PSI_LABELS = ("no significant change", "moderate change", "significant change")


def _psi_band(psi: float, bands: tuple[float, float]) -> str:
    if not math.isfinite(psi):
        return "not computed"
    if psi < bands[0]:
        return _PSI_LABELS[0]
    return _PSI_LABELS[1] if psi < bands[1] else _PSI_LABELS[2]


def _untested(name: str, kind: str, note: str, n_ref: int, n_cur: int,
              ref_mean: float | None = None, cur_mean: float | None = None) -> FeatureDrift:
    nan = float("nan")
    return FeatureDrift(feature=name, kind=kind, method="none", statistic=nan, p_value=None,
                        effect_size=nan, effect_name="", threshold=nan, drifted=False, psi=nan,
                        psi_band="not computed", reference_mean=ref_mean, current_mean=cur_mean,
                        n_reference=n_ref, n_current=n_cur, note=note)


def _missing_note(n_ref: int, n_cur: int) -> str:
    sides = [side for side, n in (("reference", n_ref), ("current", n_cur)) if n == 0]
    return f"all values are missing in the {' and '.join(sides)} data"


def _too_few_note(n_ref: int, n_cur: int, min_rows: int) -> str | None:
    short = [f"{n} in {side}" for side, n in (("reference", n_ref), ("current", n_cur)) if n < min_rows]
    if not short:
        return None
    return f"{TOO_FEW} to count as drift ({', '.join(short)}; minimum is {min_rows})"


def _tested(name: str, kind: str, statistic: Statistic, outcome: Outcome, default_effect: tuple[float, str],
            psi: float, policy: DriftPolicy, n_ref: int, n_cur: int, ref_mean: float | None,
            cur_mean: float | None, note: str | None = None, noise_bound: float | None = None) -> FeatureDrift:
    """The verdict of ``statistic``; a feature with too few values never counts as drifted, and a
    distance within the sampling-noise bound does not either. ``default_effect`` (size, name)
    serves when the statistic reports no effect size of its own."""
    effect = default_effect if outcome.effect_size is None else (outcome.effect_size, outcome.effect_name)
    threshold = statistic.threshold(policy)
    too_few = _too_few_note(n_ref, n_cur, policy.min_rows)
    if noise_bound is None:
        passes = statistic.drifted(outcome.statistic, outcome.p_value, threshold)
    else:
        # Beyond the noise, and of practical size within the measurement's own uncertainty: the
        # reference is a sample too, so a change of twice the threshold can read just under it.
        passes = outcome.statistic > noise_bound and outcome.statistic >= threshold - noise_bound / 2
    drifted = too_few is None and passes
    return FeatureDrift(feature=name, kind=kind, method=statistic.name, statistic=outcome.statistic,
                        p_value=outcome.p_value, effect_size=effect[0], effect_name=effect[1],
                        threshold=threshold, drifted=bool(drifted), psi=psi,
                        psi_band=_psi_band(psi, policy.psi_bands), reference_mean=ref_mean,
                        current_mean=cur_mean, n_reference=n_ref, n_current=n_cur,
                        note="; ".join(n for n in (too_few, note) if n) or None, noise_bound=noise_bound)


@dataclass
class _Reference:
    """One numeric feature of the reference as the statistics see it: sorted values (exact, or
    reconstructed from a profile), the true row count, mean and spread, and its noise table."""

    name: str
    values: np.ndarray
    n: int
    mean: float
    spread: float | None
    table: dict | None = None

    @classmethod
    def of_series(cls, name: str, series: pd.Series) -> _Reference:
        values = finite_sorted(series, name)
        return cls(name, values, values.size, float(values.mean()) if values.size else float("nan"), None)

    @classmethod
    def of_summary(cls, name: str, summary: NumericSummary, table: dict | None) -> _Reference:
        return cls(name, summary.pool() if summary.n else np.empty(0), summary.n, summary.mean, spread(summary), table)

    def bound(self, statistic: Statistic, n_cur: int, policy: DriftPolicy, quantile: float,
              counts: np.ndarray | None = None, scale: float = 1.0) -> float | None:
        if self.table is not None and self.table["statistic"] == statistic.name:
            return noise.from_table(self.table["bounds"], self.n, n_cur)
        if counts is not None:
            return noise.counts_bound(statistic, counts, self.n, n_cur, quantile, policy.noise_replicates, self.name)
        return noise.numeric_bound(statistic, self.values, scale, self.n, n_cur, quantile,
                                   policy.noise_replicates, self.name)


def _numeric_feature(ref: _Reference, cur_series: pd.Series, statistic: Statistic,
                     policy: DriftPolicy, quantile: float) -> FeatureDrift:
    name = ref.name
    cur = finite_sorted(cur_series, name)
    n_ref, n_cur = ref.n, cur.size
    if n_ref == 0 or n_cur == 0:
        return _untested(name, "numeric", _missing_note(n_ref, n_cur), n_ref, n_cur,
                         ref.mean if n_ref else None, float(cur.mean()) if n_cur else None)
    ref_mean, cur_mean = ref.mean, float(cur.mean())
    if statistic.frequency_fallback is not None:
        counts = few_value_counts(ref.values, cur, policy.ks_min_distinct)
        if counts is not None:
            fallback = registry.get(statistic.frequency_fallback)
            ref_counts = counts[0] * (n_ref / counts[0].sum())  # a profile's reconstruction, rescaled to n
            bound = ref.bound(fallback, n_cur, policy, quantile, counts=ref_counts)
            return _frequency_feature(name, "numeric", *counts, fallback, policy, ref_mean, cur_mean, bound)
    samples = Samples(ref.values, cur, ref.spread)
    outcome = statistic.compute(samples)
    scaled = samples.normalised_wasserstein
    bound = ref.bound(statistic, n_cur, policy, quantile, scale=scaled.scale)
    return _tested(name, "numeric", statistic, outcome, (scaled.value, scaled.name),
                   psi_sorted(ref.values, cur, policy.psi_bins), policy, n_ref, n_cur, ref_mean, cur_mean,
                   scaled.note, bound)


def _frequency_feature(name: str, kind: str, ref_counts: np.ndarray, cur_counts: np.ndarray,
                       statistic: Statistic, policy: DriftPolicy, ref_mean: float | None = None,
                       cur_mean: float | None = None, bound: float | None = None) -> FeatureDrift:
    """``statistic`` on category counts aligned over the union."""
    n_ref, n_cur = int(round(ref_counts.sum())), int(cur_counts.sum())
    if n_ref == 0 or n_cur == 0:
        return _untested(name, kind, _missing_note(n_ref, n_cur), n_ref, n_cur, ref_mean, cur_mean)
    outcome = statistic.compute(Counts(ref_counts, cur_counts))
    return _tested(name, kind, statistic, outcome, (outcome.statistic, statistic.name),
                   psi_counts(ref_counts, cur_counts), policy, n_ref, n_cur, ref_mean, cur_mean, noise_bound=bound)


def _observed_counts(series: pd.Series) -> pd.Series:
    """Counts of each observed category; categorical dtypes list unobserved ones with 0, which
    would give chi2 a zero expected frequency, so keep observed ones only."""
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]
    if isinstance(counts.index, pd.CategoricalIndex):
        counts.index = counts.index.astype(object)
    return counts


def _aligned(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts aligned over the union of their categories."""
    union = ref.index.union(cur.index, sort=False)
    return (ref.reindex(union, fill_value=0).to_numpy(np.int64),
            cur.reindex(union, fill_value=0).to_numpy(np.int64))


def _check_features(frames: Mapping[str, pd.DataFrame], numeric: Sequence[str],
                    categorical: Sequence[str]) -> None:
    for label, names in (("numeric", numeric), ("categorical", categorical)):
        if isinstance(names, str):
            raise TypeError(f"{label} must be a sequence of column names, not the string {names!r}")
    names = list(numeric) + list(categorical)
    if not names:
        raise ValueError("no features to compare: numeric and categorical are both empty")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"feature(s) listed more than once: {', '.join(map(str, repeated))}")
    for side, frame in frames.items():
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise ValueError(f"{side} data lacks column(s): {', '.join(map(str, missing))}")


def data_drift(reference: pd.DataFrame | ReferenceProfile, current: pd.DataFrame, numeric: Sequence[str],
               categorical: Sequence[str], policy: DriftPolicy = DriftPolicy()) -> DataDriftReport:
    """Compare ``current`` with ``reference`` feature by feature and decide dataset drift.

    ``reference`` is a frame, or a model version's :class:`ReferenceProfile` (what the drift check
    stores with each version: the check then costs the same whatever the training data's size).
    With the default "auto" methods, numeric features are compared by the Wasserstein distance over
    the reference's population std and categorical ones by the Jensen-Shannon distance (base 2);
    each counts as drifted when it reaches its threshold and exceeds the sampling-noise bound for
    these sizes. ``policy.numeric_method`` and ``policy.categorical_method`` can name another
    registered statistic (KS and chi-squared decide by p-value). Missing and infinite values are
    dropped per column. With fewer than ``policy.min_rows`` rows on either side, features are
    still computed for inspection but the dataset verdict is refused (``drifted`` is None).
    """
    profile = reference if isinstance(reference, ReferenceProfile) else None
    sides = {"current": current} if profile else {"reference": reference, "current": current}
    _check_features(sides, numeric, categorical)
    if profile is not None:
        missing = [n for n in (*numeric, *categorical) if n not in profile.numeric and n not in profile.categorical]
        if missing:
            raise ValueError(f"reference profile lacks feature(s): {', '.join(map(str, missing))}")
    n_ref, n_cur = (profile.n_rows if profile else len(reference)), len(current)
    numeric_statistic = registry.choose("numeric", n_ref, policy)
    categorical_statistic = registry.choose("categorical", n_ref, policy)
    settings = noise_settings(policy, len(numeric) + len(categorical))
    quantile = settings["quantile"]
    tables = profile.noise if profile and profile.noise_settings == settings else {}
    results: list[FeatureDrift] = []
    for name in numeric:
        ref = (_Reference.of_summary(name, profile.numeric[name], tables.get(name)) if profile
               else _Reference.of_series(name, reference[name]))
        results.append(_numeric_feature(ref, current[name], numeric_statistic, policy, quantile))
    for name in categorical:
        if profile:
            ref_counts, cur_series = pd.Series(profile.categorical[name], dtype=np.int64), current[name].dropna().astype(str)
        else:
            ref_counts, cur_series = _observed_counts(reference[name]), current[name]
        rc, cc = _aligned(ref_counts, _observed_counts(cur_series))
        table = tables.get(name)
        n = int(rc.sum())
        bound = (noise.from_table(table["bounds"], n, int(cc.sum())) if table and table["statistic"] == categorical_statistic.name
                 else noise.counts_bound(categorical_statistic, rc, n, max(int(cc.sum()), 1), quantile,
                                         policy.noise_replicates, name) if n else None)
        results.append(_frequency_feature(name, "categorical", rc, cc, categorical_statistic, policy, bound=bound))
    features = tuple(results)
    families = {s.family for s, names in ((numeric_statistic, numeric), (categorical_statistic, categorical))
                if len(names)}
    family = families.pop() if len(families) == 1 else "mixed"
    return _dataset_verdict(features, n_ref, n_cur, family, policy)


def _dataset_verdict(features: tuple[FeatureDrift, ...], n_ref: int, n_cur: int, family: str,
                     policy: DriftPolicy) -> DataDriftReport:
    short = [f"{side} has {n} row{'s' if n != 1 else ''}"
             for side, n in (("reference", n_ref), ("current", n_cur)) if n < policy.min_rows]
    if short:
        verdict = f"not enough rows to decide ({' and '.join(short)}, minimum is {policy.min_rows})"
        return DataDriftReport(features, n_ref, n_cur, family, None, None, verdict)

    drifted_names = [f.feature for f in features if f.drifted]
    share = len(drifted_names) / len(features)
    drifted = share >= policy.drift_share
    counts = (f"{len(drifted_names)} of {len(features)} features drifted "
              f"(share {share:.2f} {'>=' if drifted else '<'} {policy.drift_share:.2f})")
    verdict = f"{'data drift' if drifted else 'no data drift'}: {counts}"
    if drifted_names:
        verdict += ": " + ", ".join(drifted_names)
    untested = [f"{f.feature} ({f.note})" for f in features if not f.tested]
    if untested:
        verdict += "; not tested: " + "; ".join(untested)
    return DataDriftReport(features, n_ref, n_cur, family, share, drifted, verdict)
