"""riskwatch.drift.profile: the reference profile stored with each model version."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import (BINS, MAX_EXACT_VALUES, ReferenceProfile, build_profile, numeric_edges,
                                     summarize)
from riskwatch.drift.sorted_arrays import finite_sorted

NUMERIC, CATEGORICAL = ["normal", "counts", "tail"], ["sector"]


def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({"normal": rng.normal(10 + shift, 2, n), "counts": rng.poisson(3 + shift, n),
                         "tail": rng.lognormal(shift, 1, n),
                         "sector": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])})


def test_exact_values_for_few_distinct_values_and_quantile_bins_otherwise() -> None:
    profile = summarize(frame(np.random.default_rng(1), 5000), NUMERIC, CATEGORICAL)
    counts, normal = profile.numeric["counts"], profile.numeric["normal"]
    assert counts.kind == "values" and counts.points.size <= MAX_EXACT_VALUES and counts.counts.sum() == 5000
    assert normal.kind == "bins" and normal.points.size <= BINS + 1 and normal.counts.sum() == 5000
    assert sum(profile.categorical["sector"].values()) == 5000


def test_the_profiles_of_partitions_sum_to_the_profile_of_the_whole() -> None:
    whole = frame(np.random.default_rng(2), 6000)
    whole.loc[::17, "normal"] = np.nan
    edges = {name: numeric_edges(finite_sorted(whole[name], name)) for name in NUMERIC}
    parts = [summarize(whole.iloc[i:i + 1500], NUMERIC, CATEGORICAL, edges) for i in range(0, 6000, 1500)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    direct = summarize(whole, NUMERIC, CATEGORICAL, edges)
    assert merged.n_rows == direct.n_rows and merged.categorical == direct.categorical
    for name in NUMERIC:
        a, b = merged.numeric[name], direct.numeric[name]
        assert a.kind == b.kind and np.array_equal(a.points, b.points) and np.array_equal(a.counts, b.counts)
        assert (a.n, a.missing) == (b.n, b.missing)
        assert a.mean == pytest.approx(b.mean, rel=1e-12) and a.m2 == pytest.approx(b.m2, rel=1e-9)
    with pytest.raises(ValueError, match="same bin edges"):
        merged.numeric["normal"].merge(summarize(whole, ["normal"], []).numeric["normal"].__class__(
            "bins", np.array([0.0, 1.0]), np.array([1]), 1, 0.5, 0.0))


def test_json_round_trip_keeps_the_verdicts() -> None:
    rng = np.random.default_rng(3)
    reference = frame(rng, 3000)
    profile = build_profile(reference, NUMERIC, CATEGORICAL)
    stored = ReferenceProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert stored.noise == profile.noise and stored.noise_settings == profile.noise_settings
    for current in (frame(rng, 300), frame(rng, 300, shift=1.0)):
        a = data_drift(profile, current, NUMERIC, CATEGORICAL)
        b = data_drift(stored, current, NUMERIC, CATEGORICAL)
        assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("seed", [4, 5])
def test_profile_and_full_data_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = frame(rng, 5000)
    profile = build_profile(reference, NUMERIC, CATEGORICAL)
    for m, shift in ((50, 0.0), (1000, 0.0), (200, 1.0), (1000, 0.5)):
        current = frame(rng, m, shift)
        from_profile = data_drift(profile, current, NUMERIC, CATEGORICAL)
        from_frame = data_drift(reference, current, NUMERIC, CATEGORICAL)
        assert from_profile.drifted == from_frame.drifted == (shift > 0)
        for a, b in zip(from_profile.features, from_frame.features):
            assert a.statistic == pytest.approx(b.statistic, abs=0.02)


def test_a_changed_policy_redoes_the_noise_bounds() -> None:
    rng = np.random.default_rng(6)
    profile = build_profile(frame(rng, 2000), NUMERIC, CATEGORICAL)
    strict = DriftPolicy(false_alarm_rate=0.001)
    current = frame(rng, 100)
    loose_bounds = [f.noise_bound for f in data_drift(profile, current, NUMERIC, CATEGORICAL).features]
    strict_bounds = [f.noise_bound for f in data_drift(profile, current, NUMERIC, CATEGORICAL, strict).features]
    assert all(s > loose for s, loose in zip(strict_bounds, loose_bounds))
