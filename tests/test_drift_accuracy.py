"""The drift-accuracy harness (bench/drift_accuracy.py): its generator makes the changes it names,
and with fixed seeds a few cells of its table hold: no alarm on small unchanged batches, and a
clear shift detected."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import drift_accuracy as harness

ROWS = 200_000


@pytest.fixture(scope="module")
def unchanged():
    return harness.draw_frame(np.random.default_rng(1), ROWS)


@pytest.mark.parametrize("name", ["mean +0.2 sd on 3 of 5", "mean +0.5 sd on 3 of 5", "scale x1.5 on 3 of 5",
                                  "1 of 5: long tail +0.5 sd"])
def test_numeric_changes_are_in_each_features_own_sd(unchanged, name):
    scenario = harness.SCENARIO_BY_NAME[name]
    shifted = harness.draw_frame(np.random.default_rng(2), ROWS, scenario)
    shifts, scales = dict(scenario.mean_shift), dict(scenario.scale)
    for feature in harness.NUMERIC_FEATURES:
        base, new = unchanged[feature.name], shifted[feature.name]
        assert base.mean() == pytest.approx(feature.mean, abs=0.02 * feature.sd)
        assert base.std() == pytest.approx(feature.sd, rel=0.02)
        assert (new.mean() - base.mean()) / feature.sd == pytest.approx(shifts.get(feature.name, 0.0), abs=0.02)
        # randomised rounding of the counts adds a little variance of its own
        assert new.std() / base.std() == pytest.approx(scales.get(feature.name, 1.0), rel=0.03)
        if feature.integer:
            assert np.array_equal(new, np.round(new))


def test_category_mix_shift_has_the_stated_jensen_shannon_distance():
    assert 0.15 <= harness.mix_distance() <= 0.25
    scenario = harness.SCENARIO_BY_NAME["segment mix + 2 means +0.3 sd"]
    frame = harness.draw_frame(np.random.default_rng(3), ROWS, scenario)
    observed = frame["segment"].value_counts(normalize=True).reindex(harness.CATEGORIES).to_numpy()
    assert observed == pytest.approx(harness.SHIFTED_MIX, abs=0.005)


def test_heavy_ties_leave_few_distinct_values():
    frame = harness.draw_frame(np.random.default_rng(4), 5_000, harness.SCENARIO_BY_NAME["no change, heavy ties"])
    assert all(frame[name].nunique() <= 40 for name in harness.NUMERIC)


def test_cells_with_fixed_seeds():
    # one 5,000-row reference (its profile built once), 20 batches per cell
    plan = harness.Plan(("no change", "mean +1 sd on 3 of 5"), (5_000,), (50, 200),
                        references=1, batches_per_reference=20, agreement_per_reference=0, seed=12)
    cells, _ = harness.run_plan(plan)
    assert cells[("no change", 5_000, 50)].alarms == 0  # today's verdict alarmed on every one
    assert cells[("no change", 5_000, 200)].alarms == 0
    assert cells[("mean +1 sd on 3 of 5", 5_000, 200)].alarms == 20
