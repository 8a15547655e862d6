"""riskwatch.drift.noise and the per-feature quantile: what sampling noise alone produces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from riskwatch.drift import noise, registry
from riskwatch.drift.policy import feature_quantile


def test_row_wise_wasserstein_equals_scipy() -> None:
    rng = np.random.default_rng(1)
    for n, m in ((7, 5), (200, 2000), (30, 30)):
        a, c = np.sort(rng.normal(size=(4, n)), axis=1), np.sort(rng.gamma(2, size=(4, m)), axis=1)
        assert noise.wasserstein_rows(a, c) == pytest.approx([wasserstein_distance(x, y) for x, y in zip(a, c)])


def test_row_wise_jensen_shannon_equals_scipy() -> None:
    p, q = np.array([[5.0, 3, 0, 2], [1, 1, 1, 1]]), np.array([[1.0, 3, 4, 2], [0, 2, 1, 1]])
    assert noise._js_rows(p, q) == pytest.approx([jensenshannon(x, y, base=2) for x, y in zip(p, q)])


def test_the_bound_shrinks_with_the_batch_and_is_reproducible() -> None:
    pool = np.sort(np.random.default_rng(2).normal(size=5000))
    statistic = registry.get("wasserstein_norm")
    bounds = [noise.numeric_bound(statistic, pool, 1.0, 5000, m, 0.99, 400, "x") for m in (30, 200, 1000, 5000)]
    assert bounds == sorted(bounds, reverse=True) and bounds[0] > 0.2 > bounds[-1]
    assert noise.numeric_bound(statistic, pool, 1.0, 5000, 200, 0.99, 400, "x") == bounds[1]
    assert noise.numeric_bound(registry.get("ks"), pool, 1.0, 5000, 200, 0.99, 400) is None  # p-values need none


def test_a_table_is_read_between_and_beyond_its_buckets() -> None:
    table = {16: 0.8, 32: 0.5, 2048: 0.06}
    assert noise.from_table(table, 10**6, 32) == pytest.approx(0.5)
    assert noise.from_table(table, 10**6, 128) == pytest.approx(0.5 * np.sqrt(32 / 128), rel=1e-3)
    assert noise.from_table(table, 10**6, 8) > 0.8 and noise.from_table(table, 10**6, 10**5) < 0.06


@pytest.mark.parametrize("n_features,share,expected", [(1, 0.5, 0.99), (2, 0.5, 0.995), (5, 0.5, 0.9)])
def test_feature_quantile_keeps_the_dataset_false_alarm_rate(n_features: int, share: float, expected: float) -> None:
    q = feature_quantile(n_features, share, 0.01)
    assert q == pytest.approx(expected, abs=1e-3)
    needed = int(np.ceil(share * n_features))
    p = 1 - q
    from math import comb
    tail = sum(comb(n_features, k) * p ** k * (1 - p) ** (n_features - k) for k in range(needed, n_features + 1))
    assert tail <= 0.01 + 1e-9
