"""Numeric work on sorted finite samples: distinct values, the exact 1-Wasserstein distance,
quantiles and PSI.

A large numeric column is sorted once and the sorted array serves every statistic of that column,
which is what keeps drift on a million rows fast.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PSI_EPS = 1e-4  # floor for bin proportions so an empty bin does not make PSI infinite
# Above this, the integer quantile grid of the Wasserstein computation would lose float exactness.
_MAX_EXACT_GRID = 2**53


def finite_sorted(series: pd.Series, name: str) -> np.ndarray:
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


def n_distinct_sorted(s: np.ndarray) -> int:
    return 0 if s.size == 0 else 1 + int(np.count_nonzero(s[1:] != s[:-1]))


def runs_sorted(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts of a sorted array (np.unique without re-sorting)."""
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[starts, s.size])
    return s[starts], counts


def sum_runs(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Two (sorted distinct values, counts) pairs as one: counts summed over the union of the values."""
    points = np.union1d(a[0], b[0])
    counts = np.zeros(points.size, dtype=np.int64)
    for part_points, part_counts in (a, b):
        counts[np.searchsorted(points, part_points)] += part_counts
    return points, counts


def few_value_counts(ref: np.ndarray, cur: np.ndarray, max_values: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Counts of each value of two sorted samples, aligned over their union, when that union holds
    fewer than ``max_values`` distinct values; None otherwise (checked cheaply first)."""
    distinct = n_distinct_sorted(ref)
    if distinct < max_values:
        distinct = max(distinct, n_distinct_sorted(cur))
    if distinct >= max_values:
        return None
    ref_values, ref_counts = runs_sorted(ref)
    cur_values, cur_counts = runs_sorted(cur)
    values = np.union1d(ref_values, cur_values)
    if values.size >= max_values:
        return None
    rc = np.zeros(values.size, dtype=np.int64)
    cc = np.zeros(values.size, dtype=np.int64)
    rc[np.searchsorted(values, ref_values)] = ref_counts
    cc[np.searchsorted(values, cur_values)] = cur_counts
    return rc, cc


def wasserstein_sorted(u: np.ndarray, v: np.ndarray, chunk: int = 1 << 18) -> float:
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
        from scipy import stats  # here, not at import: see riskwatch.drift.statistics

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


def quantiles_sorted(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """np.quantile(s, q) (method 'linear') for an already sorted array, without re-partitioning."""
    pos = q * (s.size - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, s.size - 1)
    t = pos - lo
    below, above = s[lo], s[hi]
    diff = above - below
    # Same two-sided lerp as numpy, so bin edges match np.quantile exactly.
    return np.where(t >= 0.5, above - diff * (1 - t), below + diff * t)


def psi_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index of two aligned count vectors."""
    p = np.maximum(ref_counts / ref_counts.sum(), PSI_EPS)
    q = np.maximum(cur_counts / cur_counts.sum(), PSI_EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def psi_sorted(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    """PSI on reference-quantile bins (right-closed, outer bins open-ended) of two sorted samples."""
    edges = np.unique(quantiles_sorted(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_counts = np.diff(np.r_[0, np.searchsorted(ref, edges, side="right"), ref.size])
    cur_counts = np.diff(np.r_[0, np.searchsorted(cur, edges, side="right"), cur.size])
    return psi_counts(ref_counts, cur_counts)
