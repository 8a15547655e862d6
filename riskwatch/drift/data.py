"""Data drift: compare a reference frame with a current frame feature by feature.

The policy, through :func:`riskwatch.drift.registry.choose`, picks one statistic per kind of
feature (by default tests for small references, distances for larger ones, because with many rows
a test flags differences too small to matter). Every feature also gets an effect size and a PSI,
whatever the statistic.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.drift import registry
from riskwatch.drift.policy import DriftPolicy
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
            cur_mean: float | None, note: str | None = None) -> FeatureDrift:
    """The verdict of ``statistic``; a feature with too few values never counts as drifted.
    ``default_effect`` (size, name) serves when the statistic reports no effect size of its own."""
    effect = default_effect if outcome.effect_size is None else (outcome.effect_size, outcome.effect_name)
    threshold = statistic.threshold(policy)
    too_few = _too_few_note(n_ref, n_cur, policy.min_rows)
    drifted = too_few is None and statistic.drifted(outcome.statistic, outcome.p_value, threshold)
    return FeatureDrift(feature=name, kind=kind, method=statistic.name, statistic=outcome.statistic,
                        p_value=outcome.p_value, effect_size=effect[0], effect_name=effect[1],
                        threshold=threshold, drifted=bool(drifted), psi=psi,
                        psi_band=_psi_band(psi, policy.psi_bands), reference_mean=ref_mean,
                        current_mean=cur_mean, n_reference=n_ref, n_current=n_cur,
                        note="; ".join(n for n in (too_few, note) if n) or None)


def _numeric_feature(name: str, ref_series: pd.Series, cur_series: pd.Series, statistic: Statistic,
                     policy: DriftPolicy) -> FeatureDrift:
    ref = finite_sorted(ref_series, name)
    cur = finite_sorted(cur_series, name)
    n_ref, n_cur = ref.size, cur.size
    if n_ref == 0 or n_cur == 0:
        return _untested(name, "numeric", _missing_note(n_ref, n_cur), n_ref, n_cur,
                         float(ref.mean()) if n_ref else None, float(cur.mean()) if n_cur else None)
    ref_mean, cur_mean = float(ref.mean()), float(cur.mean())
    if statistic.frequency_fallback is not None:
        counts = few_value_counts(ref, cur, policy.ks_min_distinct)
        if counts is not None:
            return _frequency_feature(name, "numeric", *counts, registry.get(statistic.frequency_fallback),
                                      policy, ref_mean, cur_mean)
    samples = Samples(ref, cur)
    outcome = statistic.compute(samples)
    scaled = samples.normalised_wasserstein
    return _tested(name, "numeric", statistic, outcome, (scaled.value, scaled.name), psi_sorted(ref, cur, policy.psi_bins),
                   policy, n_ref, n_cur, ref_mean, cur_mean, scaled.note)


def _frequency_feature(name: str, kind: str, ref_counts: np.ndarray, cur_counts: np.ndarray,
                       statistic: Statistic, policy: DriftPolicy, ref_mean: float | None = None,
                       cur_mean: float | None = None) -> FeatureDrift:
    """``statistic`` on category counts aligned over the union."""
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if n_ref == 0 or n_cur == 0:
        return _untested(name, kind, _missing_note(n_ref, n_cur), n_ref, n_cur, ref_mean, cur_mean)
    outcome = statistic.compute(Counts(ref_counts, cur_counts))
    return _tested(name, kind, statistic, outcome, (outcome.statistic, statistic.name), psi_counts(ref_counts, cur_counts), policy,
                   n_ref, n_cur, ref_mean, cur_mean)


def _category_counts(ref_series: pd.Series, cur_series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each observed category in reference and current, aligned over their union."""
    rc = ref_series.value_counts(dropna=True, sort=False)
    cc = cur_series.value_counts(dropna=True, sort=False)
    # Categorical dtypes list unobserved categories with 0; a category absent on both sides
    # would give chi2 a zero expected frequency, so keep observed ones only.
    rc, cc = rc[rc > 0], cc[cc > 0]
    if isinstance(rc.index, pd.CategoricalIndex):
        rc.index = rc.index.astype(object)
    if isinstance(cc.index, pd.CategoricalIndex):
        cc.index = cc.index.astype(object)
    union = rc.index.union(cc.index, sort=False)
    return (rc.reindex(union, fill_value=0).to_numpy(np.int64),
            cc.reindex(union, fill_value=0).to_numpy(np.int64))


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


def data_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: Sequence[str],
               categorical: Sequence[str], policy: DriftPolicy = DriftPolicy()) -> DataDriftReport:
    """Compare ``current`` with ``reference`` feature by feature and decide dataset drift.

    With the default "auto" methods the reference row count picks the family: ``<=
    policy.small_sample_max_rows`` -> tests (KS for numeric columns with at least
    ``ks_min_distinct`` distinct values, chi2 otherwise), above -> distances (Wasserstein /
    population std of the reference, Jensen-Shannon base 2); ``policy.numeric_method`` and
    ``policy.categorical_method`` can name a registered statistic instead. Missing and infinite
    values are dropped per column; ``categorical`` columns may hold any hashable values. With
    fewer than ``policy.min_rows`` rows on either side, features are still computed for inspection
    but the dataset verdict is refused (``drifted`` is None).
    """
    _check_features({"reference": reference, "current": current}, numeric, categorical)
    n_ref, n_cur = len(reference), len(current)
    numeric_statistic = registry.choose("numeric", n_ref, policy)
    categorical_statistic = registry.choose("categorical", n_ref, policy)
    results: list[FeatureDrift] = []
    for name in numeric:
        results.append(_numeric_feature(name, reference[name], current[name], numeric_statistic, policy))
    for name in categorical:
        rc, cc = _category_counts(reference[name], current[name])
        results.append(_frequency_feature(name, "categorical", rc, cc, categorical_statistic, policy))
    features = tuple(results)
    families = {s.family for s, names in ((numeric_statistic, numeric), (categorical_statistic, categorical))
                if len(names)}
    family = families.pop() if len(families) == 1 else "mixed"

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
