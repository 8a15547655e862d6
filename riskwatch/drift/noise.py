"""How large a drift distance gets from sampling noise alone, at a given reference and batch size.

A distance between two samples of one and the same distribution is not zero: with 50 new rows,
a normalised Wasserstein distance of 0.1 or more is common even when nothing changed. The noise
bound of a feature is a high quantile (:func:`~riskwatch.drift.policy.feature_quantile`) of the distance between a reference-sized and a
batch-sized sample, both drawn from the reference itself (a two-sample bootstrap of the null),
over ``noise_replicates`` draws. A feature drifts only when its distance exceeds that bound.

Draws are capped at :data:`SAMPLE_CAP` rows per side; beyond that the bound is scaled by
``sqrt(1/n + 1/m)``, the rate at which these distances shrink with the sample sizes. Bounds are
tabulated per batch size at :data:`BUCKETS` (the reference profile stores the table; a batch size
between two buckets is scaled from the lower one).
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from riskwatch.drift.registry import Statistic
from riskwatch.drift.statistics import Counts, Samples

SAMPLE_CAP = 2000
BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048)


def _rng(*key: object) -> np.random.Generator:
    """Reproducible draws: the same reference, feature and sizes give the same bound."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _scaling(n: int, m: int, n_drawn: int, m_drawn: int) -> float:
    return math.sqrt((1 / n + 1 / m) / (1 / n_drawn + 1 / m_drawn))


def wasserstein_rows(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Row-wise 1-Wasserstein distance of two matrices of sorted rows (sizes may differ).

    Both quantile functions are step functions on the integer grid of length n*m/gcd; the
    breakpoints are the same for every row, so all rows are done in one vectorised pass.
    """
    n, m = a.shape[1], c.shape[1]
    g = math.gcd(n, m)
    step_a, step_c = m // g, n // g
    length = n * step_a
    grid = np.union1d(np.arange(1, n + 1, dtype=np.int64) * step_a, np.arange(1, m + 1, dtype=np.int64) * step_c)
    widths = np.diff(grid, prepend=0).astype(np.float64)
    ia = (grid + step_a - 1) // step_a - 1
    ic = (grid + step_c - 1) // step_c - 1
    return np.abs(a[:, ia] - c[:, ic]) @ widths / length


def _js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise Jensen-Shannon distance (base 2) of two count matrices."""
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    mid = (p + q) / 2

    def kl(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, x * np.log2(x / mid), 0.0)
        return terms.sum(axis=1)

    return np.sqrt(np.maximum((kl(p) + kl(q)) / 2, 0.0))


def numeric_bound(statistic: Statistic, pool: np.ndarray, scale: float, n: int, m: int, quantile: float,
                  replicates: int, key: object = "") -> float | None:
    """The noise bound of ``statistic`` for ``n`` reference and ``m`` current rows, drawing from
    the sorted values ``pool`` (the reference, or its profile's reconstruction); ``scale`` is the
    reference spread the distance is divided by. None for statistics that give p-values."""
    if statistic.yields != "distance" or pool.size == 0:
        return None
    n_drawn, m_drawn = min(n, SAMPLE_CAP), min(m, SAMPLE_CAP)
    rng = _rng(key, statistic.name, n_drawn, m_drawn)
    ref = np.sort(rng.choice(pool, (replicates, n_drawn)), axis=1)
    cur = np.sort(rng.choice(pool, (replicates, m_drawn)), axis=1)
    if statistic.name == "wasserstein_norm":
        values = wasserstein_rows(ref, cur) / scale
    else:  # any other registered distance: one call per draw
        values = np.array([statistic.compute(Samples(r, c)).statistic for r, c in zip(ref, cur)])
    return float(np.quantile(values, quantile)) * _scaling(n, m, n_drawn, m_drawn)


def counts_bound(statistic: Statistic, counts: np.ndarray, n: int, m: int, quantile: float, replicates: int,
                 key: object = "") -> float | None:
    """The noise bound of a categorical ``statistic`` for reference category ``counts``."""
    if statistic.yields != "distance" or counts.sum() == 0:
        return None
    n_drawn, m_drawn = min(n, SAMPLE_CAP), min(m, SAMPLE_CAP)
    rng = _rng(key, statistic.name, n_drawn, m_drawn)
    p = counts / counts.sum()
    ref = rng.multinomial(n_drawn, p, size=replicates)
    cur = rng.multinomial(m_drawn, p, size=replicates)
    if statistic.name == "jensenshannon":
        values = _js_rows(ref.astype(np.float64), cur.astype(np.float64))
    else:
        values = np.array([statistic.compute(Counts(r[(r + c) > 0], c[(r + c) > 0])).statistic
                           for r, c in zip(ref, cur)])
    return float(np.quantile(values, quantile)) * _scaling(n, m, n_drawn, m_drawn)


def from_table(table: dict[int, float], n: int, m: int) -> float:
    """The bound for ``m`` current rows from a table of bounds per bucket batch size."""
    buckets = sorted(table)
    below = [b for b in buckets if b <= m]
    bucket = below[-1] if below else buckets[0]
    # Between buckets the bound shrinks like sqrt(1/n + 1/m); below the smallest it grows so.
    return table[bucket] * math.sqrt((1 / n + 1 / m) / (1 / n + 1 / bucket))
