"""riskwatch.drift.registry: the statistics by name, what "auto" picks, and adding one."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from riskwatch.drift import registry
from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy, DriftPolicyError
from riskwatch.drift.registry import Statistic
from riskwatch.drift.statistics import Counts, Outcome, Samples
from unit_helpers import REPO


def test_builtin_statistics_apply_to_their_kinds() -> None:
    assert registry.names("numeric") == ("ks", "wasserstein_norm")
    assert registry.names("categorical") == ("chi2", "jensenshannon")
    assert registry.get("ks").frequency_fallback == "chi2"
    assert registry.get("wasserstein_norm").frequency_fallback == "jensenshannon"
    assert {registry.get(n).family for n in ("ks", "chi2")} == {"tests"}
    assert {registry.get(n).family for n in ("wasserstein_norm", "jensenshannon")} == {"distances"}
    with pytest.raises(KeyError, match="unknown drift statistic 'psi'"):
        registry.get("psi")


def test_builtin_statistics_resolve_to_their_functions() -> None:
    rng = np.random.default_rng(0)
    ref, cur = np.sort(rng.normal(0, 1, 300)), np.sort(rng.normal(0.5, 1, 200))
    samples = Samples(ref, cur)
    assert registry.get("ks").compute(samples).p_value == pytest.approx(stats.ks_2samp(ref, cur).pvalue)
    assert registry.get("wasserstein_norm").compute(samples).statistic == pytest.approx(
        stats.wasserstein_distance(ref, cur) / ref.std(), rel=1e-9)
    counts = Counts(np.array([30, 20, 10]), np.array([10, 20, 30]))
    chi2 = stats.chi2_contingency(np.vstack((counts.reference, counts.current)))
    assert registry.get("chi2").compute(counts).p_value == pytest.approx(chi2.pvalue)
    assert registry.get("jensenshannon").compute(counts).statistic == pytest.approx(
        jensenshannon(counts.reference, counts.current, base=2))


def test_auto_picks_the_distances_at_every_size() -> None:
    policy = DriftPolicy(small_sample_max_rows=100)
    for n in (10, 100, 101, 10**7):
        assert registry.choose("numeric", n, policy).name == "wasserstein_norm"
        assert registry.choose("categorical", n, policy).name == "jensenshannon"
    named = DriftPolicy(small_sample_max_rows=100, categorical_method="chi2")
    assert registry.choose("categorical", 10**6, named).name == "chi2"


def test_methods_of_different_families_make_a_mixed_report() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 200), "s": rng.choice(list("abc"), 200)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 200), "s": rng.choice(list("abc"), 200)})
    report = data_drift(ref, cur, ["x"], ["s"], DriftPolicy(numeric_method="ks"))
    assert (report.feature("x").method, report.feature("s").method) == ("ks", "jensenshannon")
    assert report.method_family == "mixed"
    assert data_drift(ref, cur, [], ["s"], DriftPolicy(numeric_method="ks")).method_family == "distances"


def test_a_named_method_keeps_its_frequency_fallback() -> None:
    rng = np.random.default_rng(2)
    ref, cur = pd.DataFrame({"g": rng.integers(0, 3, 5000)}), pd.DataFrame({"g": rng.integers(0, 3, 5000)})
    assert data_drift(ref, cur, ["g"], [], DriftPolicy(numeric_method="ks")).feature("g").method == "chi2"


@pytest.mark.parametrize("mapping,key", [
    ({"numeric_method": "chi2"}, "numeric_method"),
    ({"categorical_method": "wasserstein_norm"}, "categorical_method"),
    ({"categorical_method": 3}, "categorical_method"),
    ({"psi_bands": [0, 0.1]}, "psi_bands"),
    ({"psi_bands": [0.1, 0.1]}, "psi_bands"),
    ({"psi_bands": ["0.1", "0.2"]}, "psi_bands"),
    ({"jensenshannon_threshold": 1.5}, "jensenshannon_threshold"),
    ({"psi_bins": True}, "psi_bins"),
    ({"drift_share": 0}, "drift_share"),
])
def test_policy_errors_name_the_key(mapping: dict, key: str) -> None:
    with pytest.raises(DriftPolicyError) as caught:
        DriftPolicy.from_mapping(mapping)
    assert caught.value.key == key and isinstance(caught.value, ValueError)
    assert str(caught.value) == f"drift policy {key} {caught.value.why}"


def test_policy_defaults_are_the_dataclass_defaults() -> None:
    assert DriftPolicy.from_mapping(DriftPolicy.defaults()) == DriftPolicy()
    assert DriftPolicy.defaults()["numeric_method"] == DriftPolicy.defaults()["categorical_method"] == "auto"


# ---- adding a statistic: one function + one entry ---------------------------------------------


def mean_shift(samples: Samples) -> Outcome:
    """Absolute difference of the means, in reference standard deviations."""
    return Outcome(abs(samples.current.mean() - samples.reference.mean()) / samples.reference.std())


@pytest.fixture
def mean_shift_registered():
    entry = registry.register(Statistic("mean_shift", "mean shift", ("numeric",), "wasserstein_threshold",
                                        "distance", "distances", f"{__name__}:mean_shift"))
    yield entry
    registry.unregister("mean_shift")


def test_a_registered_statistic_is_picked_by_name(mean_shift_registered: Statistic) -> None:
    assert "mean_shift" in registry.names("numeric") and "mean_shift" not in registry.names("categorical")
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 400)})
    policy = DriftPolicy.from_mapping({"numeric_method": "mean_shift", "wasserstein_threshold": 0.3})
    moved = data_drift(ref, pd.DataFrame({"x": rng.normal(0.5, 1, 400)}), ["x"], [], policy).feature("x")
    same = data_drift(ref, pd.DataFrame({"x": rng.normal(0, 1, 400)}), ["x"], [], policy).feature("x")
    assert moved.method == "mean_shift" and moved.drifted and not same.drifted
    assert moved.statistic == pytest.approx(abs(moved.current_mean - moved.reference_mean) / ref["x"].std(ddof=0))
    assert moved.effect_name == "wasserstein/std"  # numeric features keep their common effect size
    assert moved.describe().startswith("x drifted: mean shift ") and "above the noise bound" in moved.describe() and "(threshold 0.3" in moved.describe()
    with pytest.raises(DriftPolicyError, match="categorical_method"):
        DriftPolicy(categorical_method="mean_shift")


def test_register_refuses_bad_entries(mean_shift_registered: Statistic) -> None:
    def entry(**change) -> Statistic:
        fields = dict(name="other", label="other", kinds=("numeric",), threshold_key="wasserstein_threshold",
                      yields="distance", family="distances", function=f"{__name__}:mean_shift")
        return Statistic(**{**fields, **change})

    for bad in (entry(name="mean_shift"), entry(name="auto"), entry(kinds=("text",)), entry(kinds=()),
                entry(yields="score"), entry(family="other"), entry(function="mean_shift"),
                entry(frequency_fallback="ks"), entry(kinds=("categorical",), frequency_fallback="chi2")):
        with pytest.raises(ValueError, match="cannot register drift statistic"):
            registry.register(bad)
    with pytest.raises(ValueError, match="built in"):
        registry.unregister("ks")
    missing = registry.register(entry(threshold_key="mean_threshold"))
    try:
        with pytest.raises(DriftPolicyError, match="'mean_threshold', which is not a drift setting"):
            DriftPolicy(numeric_method="other")
    finally:
        registry.unregister(missing.name)


def test_the_policy_and_the_registry_load_no_numeric_library() -> None:
    code = ("import sys, riskwatch.config, riskwatch.drift.policy, riskwatch.drift.registry; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
