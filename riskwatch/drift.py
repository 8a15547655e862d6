"""Data drift and score drift, in plain words.

Data drift compares a reference frame with a current frame feature by feature. Small references
(``<= small_sample_max_rows``) get statistical tests (KS, chi-squared); larger ones get distance
measures (normalised Wasserstein, Jensen-Shannon), because with many rows a test flags differences
too small to matter. Every feature also gets an effect size and a PSI, whatever the method.

Score drift compares a new model score with the recorded score or the history of scores.

Only numpy and scipy do the statistics. Large numeric columns are sorted once and the sorted
arrays serve every statistic of that column (distinct count, Wasserstein, PSI quantiles).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

PSI_EPS = 1e-4  # floor for bin proportions so an empty bin does not make PSI infinite
SCORE_RULES = ("raw", "parametric", "nonparametric")
_METHOD_NAMES = {
    "ks": "KS",
    "chi2": "chi2",
    "wasserstein_norm": "normalised Wasserstein",
    "jensenshannon": "Jensen-Shannon distance",
}
_PSI_LABELS = ("no significant change", "moderate change", "significant change")
_TOO_FEW = "too few non-missing values"
# Above this, the integer quantile grid of the Wasserstein computation would lose float exactness.
_MAX_EXACT_GRID = 2**53


@dataclass(frozen=True)
class DriftPolicy:
    """Thresholds for data drift; defaults follow the common drift tools."""

    small_sample_max_rows: int = 1000
    p_value_threshold: float = 0.05
    ks_min_distinct: int = 6
    wasserstein_threshold: float = 0.1
    jensenshannon_threshold: float = 0.1
    psi_bins: int = 10
    psi_bands: tuple[float, float] = (0.1, 0.25)
    drift_share: float = 0.5
    min_rows: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "psi_bands":
                continue
            integer = isinstance(f.default, int)
            # bool is an int subclass, but `min_rows: true` in a config is a mistake.
            if isinstance(value, bool) or not isinstance(value, Integral if integer else Real):
                raise ValueError(f"drift policy {f.name} must be {'an integer' if integer else 'a number'}, "
                                 f"got {value!r}")
        # JSON gives lists; a frozen dataclass must stay hashable, so store a tuple.
        try:
            bands = tuple(float(b) for b in self.psi_bands)
        except (TypeError, ValueError):
            raise ValueError(f"drift policy psi_bands must be two numbers, got {self.psi_bands!r}") from None
        object.__setattr__(self, "psi_bands", bands)
        checks = [
            ("small_sample_max_rows", self.small_sample_max_rows >= 0, "must be >= 0"),
            ("p_value_threshold", 0 < self.p_value_threshold < 1, "must be in (0, 1)"),
            ("ks_min_distinct", self.ks_min_distinct >= 2, "must be >= 2"),
            ("wasserstein_threshold", self.wasserstein_threshold > 0, "must be > 0"),
            ("jensenshannon_threshold", 0 < self.jensenshannon_threshold <= 1, "must be in (0, 1]"),
            ("psi_bins", self.psi_bins >= 2, "must be >= 2"),
            ("psi_bands", len(bands) == 2 and 0 <= bands[0] <= bands[1],
             "must be two increasing non-negative numbers, e.g. [0.1, 0.25]"),
            ("drift_share", 0 < self.drift_share <= 1, "must be in (0, 1]"),
            ("min_rows", self.min_rows >= 1, "must be >= 1"),
        ]
        for name, ok, message in checks:
            if not ok:
                raise ValueError(f"drift policy {name} {message}, got {getattr(self, name)!r}")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> DriftPolicy:
        """Build from a config section; missing keys keep their defaults, unknown keys raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in m if k not in known)
        if unknown:
            raise ValueError(f"unknown drift policy key(s): {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
        return cls(**dict(m))  # __post_init__ turns a psi_bands list into a tuple


def _json_value(value: Any) -> Any:
    """Plain Python for JSON: numpy scalars unwrapped, NaN and infinities become None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


@dataclass(frozen=True)
class FeatureDrift:
    """Drift verdict and evidence for one feature.

    ``n_reference``/``n_current`` count the non-missing values used; ``note`` says why a feature was
    not tested or was not allowed to count as drifted, or how a degenerate case was handled.
    """

    feature: str
    kind: str
    method: str
    statistic: float
    p_value: float | None
    effect_size: float
    effect_name: str
    threshold: float
    drifted: bool
    psi: float
    psi_band: str
    reference_mean: float | None
    current_mean: float | None
    n_reference: int = 0
    n_current: int = 0
    note: str | None = None

    @property
    def tested(self) -> bool:
        """False when the feature could not be compared at all (e.g. all values missing on one side)."""
        return self.method != "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: plain Python types, None instead of NaN."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}

    def describe(self) -> str:
        """One plain-English sentence with the verdict and its evidence."""
        if not self.tested:
            return f"{self.feature} not tested, counted as not drifted: {self.note}"
        name = _METHOD_NAMES.get(self.method, self.method)
        if self.p_value is not None:
            sign = "<" if self.p_value < self.threshold else ">="
            test = f"{name} p={_fmt(self.p_value, 2)} {sign} {_fmt(self.threshold)}"
            evidence = [f"effect: {self.effect_name} {_fmt(self.effect_size, 3)}"]
        else:
            sign = ">=" if self.statistic >= self.threshold else "<"
            test = f"{name} {_fmt(self.statistic, 3)} {sign} {_fmt(self.threshold)}"
            evidence = []
        if self.reference_mean is not None and self.current_mean is not None:
            evidence.append(f"mean {_fmt(self.reference_mean)} -> {_fmt(self.current_mean)}")
        if math.isfinite(self.psi):
            evidence.append(f"PSI {_fmt(self.psi, 3)}, {self.psi_band}")
        if self.drifted:
            verdict = "drifted"
        elif self.note and self.note.startswith(_TOO_FEW):
            verdict = "not counted as drifted"
        else:
            verdict = "did not drift"
        sentence = f"{self.feature} {verdict}: {test} ({'; '.join(evidence)})"
        return f"{sentence}; {self.note}" if self.note else sentence


@dataclass(frozen=True)
class DataDriftReport:
    """Per-feature results and the dataset verdict; ``drifted`` is None when refused for too few rows."""

    features: tuple[FeatureDrift, ...]
    n_reference: int
    n_current: int
    method_family: str
    share_drifted: float | None
    drifted: bool | None
    verdict: str

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)

    def feature(self, name: str) -> FeatureDrift:
        """The result for feature ``name`` (KeyError if it was not compared)."""
        for f in self.features:
            if f.feature == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, features included with their one-line descriptions."""
        return {
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "method_family": self.method_family,
            "share_drifted": _json_value(self.share_drifted),
            "drifted": _json_value(self.drifted),
            "verdict": self.verdict,
            "features": [{**f.to_dict(), "description": f.describe()} for f in self.features],
        }


# --------------------------------------------------------------------------- numeric helpers


def _finite_sorted(series: pd.Series, name: str) -> np.ndarray:
    """Sorted float64 copy of the finite values: NaN, missing and +/-inf are all treated as missing."""
    try:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"numeric feature {name!r} has non-numeric values "
                         f"(dtype {series.dtype})") from None
    # np.sort copies, so the caller's frame is never touched; it also puts -inf first and
    # inf, NaN last, which lets the finite part be taken as a view instead of a masked copy.
    s = np.sort(values)
    lo = int(np.searchsorted(s, -np.inf, side="right"))
    hi = int(np.searchsorted(s, np.inf, side="left"))
    return s[lo:hi]


def _n_distinct_sorted(s: np.ndarray) -> int:
    return 0 if s.size == 0 else 1 + int(np.count_nonzero(s[1:] != s[:-1]))


def _runs_sorted(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts of a sorted array (np.unique without re-sorting)."""
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, s.size])
    return s[starts], counts


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray, chunk: int = 1 << 18) -> float:
    """1-Wasserstein distance of two sorted samples; equals scipy.stats.wasserstein_distance.

    W1 is the integral of |Q_u(t) - Q_v(t)| over t in (0, 1]. Both quantile functions are step
    functions with steps at k/n and l/m, so on the integer grid of length lcm(n, m) all steps are
    exact integers, and the grid can be walked in independent blocks of ``chunk`` steps of the
    larger sample. That keeps temporaries to a few MB and avoids scipy's sort of the concatenated
    samples plus two full searchsorted passes, which is several times slower on 1M rows.
    """
    if u.size < v.size:
        u, v = v, u  # W1 is symmetric; blocking along the larger sample bounds every block
    n, m = u.size, v.size
    g = math.gcd(n, m)
    a, b = m // g, n // g  # u steps at multiples of a, v steps at multiples of b
    length = n * a
    if length >= _MAX_EXACT_GRID:
        return float(stats.wasserstein_distance(u, v))
    total = 0.0
    for i0 in range(0, n, chunk):
        i1 = min(i0 + chunk, n)
        start = i0 * a
        # v steps in (start, i1 * a]; one falling exactly on ``start`` belongs to the previous block
        l0, l1 = start // b, (i1 * a) // b
        grid = np.concatenate((np.arange(i0 + 1, i1 + 1, dtype=np.int64) * a,
                               np.arange(l0 + 1, l1 + 1, dtype=np.int64) * b))
        grid.sort(kind="stable")  # two sorted runs: timsort merges them in linear time
        widths = np.diff(grid, prepend=start)
        # On (t_prev, t] the quantile index is ceil(t / step) - 1; zero widths (shared steps)
        # contribute nothing whatever index they get.
        gaps = u[(grid + (a - 1)) // a - 1]
        gaps -= v[(grid + (b - 1)) // b - 1]
        np.abs(gaps, out=gaps)
        total += float(np.dot(gaps, widths.astype(np.float64)))
    return total / length


def _quantiles_sorted(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile(s, q) (method 'linear') for an already sorted array, without re-partitioning."""
    pos = q * (s.size - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, s.size - 1)
    t = pos - lo
    below, above = s[lo], s[hi]
    diff = above - below
    # Same two-sided lerp as numpy, so bin edges match np.quantile exactly.
    return np.where(t >= 0.5, above - diff * (1 - t), below + diff * t)


def _psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    p = np.maximum(ref_counts / ref_counts.sum(), PSI_EPS)
    q = np.maximum(cur_counts / cur_counts.sum(), PSI_EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def _psi_numeric_sorted(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    """PSI on reference-quantile bins (right-closed, outer bins open-ended) of two sorted samples."""
    edges = np.unique(_quantiles_sorted(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.diff(np.r_[0, np.searchsorted(ref, edges, side="right"), ref.size])
    cur_counts = np.diff(np.r_[0, np.searchsorted(cur, edges, side="right"), cur.size])
    return _psi(ref_counts, cur_counts)


def _psi_band(psi: float, bands: tuple[float, float]) -> str:
    if not math.isfinite(psi):
        return "not computed"
    if psi < bands[0]:
        return _PSI_LABELS[0]
    return _PSI_LABELS[1] if psi < bands[1] else _PSI_LABELS[2]


# --------------------------------------------------------------------------- per-feature drift


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
    return f"{_TOO_FEW} to count as drift ({', '.join(short)}; minimum is {min_rows})"


def _numeric_feature(name: str, ref_series: pd.Series, cur_series: pd.Series, tests: bool,
                     policy: DriftPolicy) -> FeatureDrift:
    ref = _finite_sorted(ref_series, name)
    cur = _finite_sorted(cur_series, name)
    n_ref, n_cur = ref.size, cur.size
    if n_ref == 0 or n_cur == 0:
        return _untested(name, "numeric", _missing_note(n_ref, n_cur), n_ref, n_cur,
                         float(ref.mean()) if n_ref else None, float(cur.mean()) if n_cur else None)
    ref_mean, cur_mean = float(ref.mean()), float(cur.mean())

    k = policy.ks_min_distinct
    distinct = _n_distinct_sorted(ref)
    if distinct < k:
        distinct = max(distinct, _n_distinct_sorted(cur))
    if distinct < k:
        # Both sides have few values: a KS test or a Wasserstein distance on a handful of
        # repeated values is dominated by ties, so compare the value frequencies instead.
        ref_values, ref_counts = _runs_sorted(ref)
        cur_values, cur_counts = _runs_sorted(cur)
        values = np.union1d(ref_values, cur_values)
        if values.size < k:
            rc = np.zeros(values.size, dtype=np.int64)
            cc = np.zeros(values.size, dtype=np.int64)
            rc[np.searchsorted(values, ref_values)] = ref_counts
            cc[np.searchsorted(values, cur_values)] = cur_counts
            return _frequency_feature(name, "numeric", rc, cc, tests, policy, ref_mean, cur_mean)

    w = _wasserstein_sorted(ref, cur)
    note = None
    if ref[0] != ref[-1]:
        # Population std, as the common drift tools normalise by. Comparing the sorted ends is
        # an exact constancy check; np.std of a constant column can come out as 1e-17 instead of 0.
        scale, effect_name = float(ref.std()), "wasserstein/std"
    elif ref_mean != 0:
        # Constant reference: there is no spread to scale by, so scale by its magnitude and
        # the effect reads as a relative shift ("current is 30% of the value away").
        scale, effect_name = abs(ref_mean), "wasserstein/|mean|"
        note = f"reference is constant ({_fmt(ref_mean)}), distance scaled by its absolute value"
    else:
        scale, effect_name = 1.0, "wasserstein"
        note = "reference is constant at 0, distance not scaled"
    w_norm = w / scale
    psi = _psi_numeric_sorted(ref, cur, policy.psi_bins)

    if tests:
        ks = stats.ks_2samp(ref, cur)
        statistic, p_value = float(ks.statistic), float(ks.pvalue)
        method, threshold = "ks", policy.p_value_threshold
        drifted = p_value < threshold
    else:
        statistic, p_value = w_norm, None
        method, threshold = "wasserstein_norm", policy.wasserstein_threshold
        drifted = w_norm >= threshold
    too_few = _too_few_note(n_ref, n_cur, policy.min_rows)
    if too_few is not None:
        drifted = False
    note = "; ".join(n for n in (too_few, note) if n) or None
    return FeatureDrift(feature=name, kind="numeric", method=method, statistic=statistic,
                        p_value=p_value, effect_size=w_norm, effect_name=effect_name,
                        threshold=threshold, drifted=bool(drifted), psi=psi,
                        psi_band=_psi_band(psi, policy.psi_bands), reference_mean=ref_mean,
                        current_mean=cur_mean, n_reference=n_ref, n_current=n_cur, note=note)


def _frequency_feature(name: str, kind: str, ref_counts: np.ndarray, cur_counts: np.ndarray,
                       tests: bool, policy: DriftPolicy, ref_mean: float | None = None,
                       cur_mean: float | None = None) -> FeatureDrift:
    """Chi-squared test or Jensen-Shannon distance on category counts aligned over the union."""
    n_ref, n_cur = int(ref_counts.sum()), int(cur_counts.sum())
    if n_ref == 0 or n_cur == 0:
        return _untested(name, kind, _missing_note(n_ref, n_cur), n_ref, n_cur, ref_mean, cur_mean)
    psi = _psi(ref_counts, cur_counts)
    if tests:
        method, threshold = "chi2", policy.p_value_threshold
        if ref_counts.size < 2:
            # One category on both sides: the frequencies cannot differ.
            statistic, p_value, effect = 0.0, 1.0, 0.0
        else:
            table = np.vstack((ref_counts, cur_counts))
            res = stats.chi2_contingency(table)
            statistic, p_value = float(res.statistic), float(res.pvalue)
            # Cramér's V is defined on the uncorrected chi2; scipy applies Yates' correction
            # to 2x2 tables, so recompute without it there.
            chi2 = statistic if res.dof != 1 else float(
                stats.chi2_contingency(table, correction=False).statistic)
            effect = math.sqrt(chi2 / (n_ref + n_cur))  # min(rows, cols) - 1 == 1 for 2 rows
        drifted = p_value < threshold
        effect_name = "cramers_v"
    else:
        method, threshold = "jensenshannon", policy.jensenshannon_threshold
        statistic = float(jensenshannon(ref_counts, cur_counts, base=2))
        p_value, effect, effect_name = None, statistic, "js_distance"
        drifted = statistic >= threshold
    note = _too_few_note(n_ref, n_cur, policy.min_rows)
    if note is not None:
        drifted = False
    return FeatureDrift(feature=name, kind=kind, method=method, statistic=statistic,
                        p_value=p_value, effect_size=effect, effect_name=effect_name,
                        threshold=threshold, drifted=bool(drifted), psi=psi,
                        psi_band=_psi_band(psi, policy.psi_bands), reference_mean=ref_mean,
                        current_mean=cur_mean, n_reference=n_ref, n_current=n_cur, note=note)


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


# --------------------------------------------------------------------------- data drift


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

    The reference row count picks the family: ``<= policy.small_sample_max_rows`` -> tests (KS for
    numeric columns with at least ``ks_min_distinct`` distinct values, chi2 otherwise), above ->
    distances (Wasserstein / population std of the reference, Jensen-Shannon base 2). Missing and
    infinite values are dropped per column; ``categorical`` columns may hold any hashable values. With fewer than ``policy.min_rows`` rows on either side, features are still
    computed for inspection but the dataset verdict is refused (``drifted`` is None).
    """
    _check_features({"reference": reference, "current": current}, numeric, categorical)
    n_ref, n_cur = len(reference), len(current)
    tests = n_ref <= policy.small_sample_max_rows
    results: list[FeatureDrift] = []
    for name in numeric:
        results.append(_numeric_feature(name, reference[name], current[name], tests, policy))
    for name in categorical:
        rc, cc = _category_counts(reference[name], current[name])
        results.append(_frequency_feature(name, "categorical", rc, cc, tests, policy))
    features = tuple(results)
    family = "tests" if tests else "distances"

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


# --------------------------------------------------------------------------- score drift


@dataclass(frozen=True)
class ScoreDrift:
    """Whether a new model score is worse than the record; ``drifted`` is None when undecidable."""

    rule: str
    new_score: float
    reference_score: float | None
    threshold: float | None
    drifted: bool | None
    reason: str
    n_history: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: plain Python types, None instead of NaN."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


def score_drift(new_score: float, recorded_score: float | None, history: Sequence[float],
                rule: str = "raw", min_history: int = 3, *, metric: str = "F1") -> ScoreDrift:
    """Decide score drift for a higher-is-better score such as F1.

    Rules: ``raw`` drifts when ``new_score < recorded_score``; ``parametric`` when it is below
    mean - 2*std of ``history`` (sample std, numpy ``ddof=1``); ``nonparametric`` when below
    Q1 - 1.5*IQR of ``history`` (numpy.percentile, linear). The history rules need at least
    ``min_history`` values, otherwise ``drifted`` is None. Unknown rule -> ValueError.
    """
    if rule not in SCORE_RULES:
        raise ValueError(f"unknown score rule {rule!r}: use one of {', '.join(SCORE_RULES)}")
    new = float(new_score)
    if not math.isfinite(new):
        raise ValueError(f"new_score must be a finite number, got {new_score!r}")
    recorded = None if recorded_score is None else float(recorded_score)
    if recorded is not None and not math.isfinite(recorded):
        raise ValueError(f"recorded_score must be a finite number or None, got {recorded_score!r}")
    scores = np.asarray(list(history), dtype=np.float64)
    if not np.isfinite(scores).all():
        raise ValueError(f"history must hold finite numbers only, got {list(history)!r}")
    n = int(scores.size)
    shown = f"{metric} {_fmt(new)} on the new data"

    if rule == "raw":
        if recorded is None:
            return ScoreDrift(rule, new, None, None, None,
                              "cannot decide score drift: there is no recorded score to compare against", n)
        drifted = new < recorded
        reason = (f"score drift: {shown} is below the recorded score {_fmt(recorded)}" if drifted else
                  f"no score drift: {shown} is not below the recorded score {_fmt(recorded)}")
        return ScoreDrift(rule, new, recorded, recorded, drifted, reason, n)

    if min_history < 2:
        raise ValueError(f"min_history must be >= 2 for the {rule} rule, got {min_history}")
    if n < min_history:
        return ScoreDrift(rule, new, recorded, None, None,
                          f"cannot decide score drift: the {rule} rule needs at least {min_history} "
                          f"recorded scores, there {'is' if n == 1 else 'are'} {n}", n)
    if rule == "parametric":
        threshold = float(scores.mean() - 2 * scores.std(ddof=1))
        bound = "mean-2·std"
    else:
        q1, q3 = np.percentile(scores, [25, 75])
        threshold = float(q1 - 1.5 * (q3 - q1))
        bound = "Q1-1.5·IQR"
    drifted = new < threshold
    of = f"{bound} of {n} recorded scores ({_fmt(threshold)})"
    reason = (f"score drift: {shown} is below {of}" if drifted else
              f"no score drift: {shown} is not below {of}")
    return ScoreDrift(rule, new, recorded, threshold, drifted, reason, n)
