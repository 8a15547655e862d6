"""Data drift and score drift on generated data with fixed seeds, checked against plain scipy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from riskwatch.drift.data import data_drift
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.report import DataDriftReport
from riskwatch.drift.score import ScoreDrift, score_drift
from riskwatch.drift.sorted_arrays import wasserstein_sorted

UDACITY = Path("/work/shared/data/udacity")
CATEGORIES = np.array(["retail", "finance", "tech", "health", "energy"])


def normal_frame(rng: np.random.Generator, n: int, shift: float = 0.0, **extra: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(10 + shift, 2.0, n), **extra})


def category_frame(rng: np.random.Generator, n: int, probs: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"sector": rng.choice(CATEGORIES, n, p=probs)})


UNIFORM = [0.2] * 5
SKEWED = [0.5, 0.2, 0.15, 0.1, 0.05]


TESTS = DriftPolicy(numeric_method="ks", categorical_method="chi2")  # p-value statistics, chosen by name


def as_json(obj: DataDriftReport | ScoreDrift) -> str:
    return json.dumps(obj.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- tests family (KS, chi2 by name)


def test_ks_no_drift_on_same_distribution() -> None:
    rng = np.random.default_rng(1)
    ref, cur = normal_frame(rng, 500), normal_frame(rng, 500)
    report = data_drift(ref, cur, ["x"], [], TESTS)
    f = report.feature("x")
    assert report.method_family == "tests" and f.noise_bound is None
    assert (f.method, f.kind) == ("ks", "numeric")
    ks = stats.ks_2samp(ref["x"], cur["x"])
    assert f.statistic == pytest.approx(ks.statistic) and f.p_value == pytest.approx(ks.pvalue)
    assert f.p_value >= 0.05 and not f.drifted
    assert 0 < f.effect_size < 0.2 and f.effect_name == "wasserstein/std"
    assert report.drifted is False and report.verdict.startswith("no data drift: 0 of 1")
    assert "did not drift: KS p=" in f.describe()


def test_ks_detects_shift_and_reports_effect() -> None:
    rng = np.random.default_rng(2)
    ref, cur = normal_frame(rng, 500), normal_frame(rng, 500, shift=1.0)  # half a std
    f = data_drift(ref, cur, ["x"], [], TESTS).feature("x")
    assert f.method == "ks" and f.drifted and f.p_value < 0.05
    expected = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert f.effect_size == pytest.approx(expected, rel=1e-9)
    assert 0.3 < f.effect_size < 0.7
    assert f.current_mean - f.reference_mean == pytest.approx(1.0, abs=0.3)
    assert f.describe().startswith("x drifted: KS p=") and "< 0.05" in f.describe()


def test_chi2_for_categorical_with_and_without_drift() -> None:
    rng = np.random.default_rng(3)
    ref = category_frame(rng, 600, UNIFORM)
    same = data_drift(ref, category_frame(rng, 600, UNIFORM), [], ["sector"], TESTS).feature("sector")
    moved = data_drift(ref, category_frame(rng, 600, SKEWED), [], ["sector"], TESTS).feature("sector")
    assert same.method == moved.method == "chi2" and same.kind == "categorical"
    assert not same.drifted and same.p_value >= 0.05
    assert moved.drifted and moved.p_value < 1e-6
    assert moved.effect_name == "cramers_v" and moved.effect_size > same.effect_size > 0
    assert same.reference_mean is None and same.current_mean is None


def test_chi2_matches_scipy_and_handles_new_and_unused_categories() -> None:
    ref = pd.DataFrame({"c": pd.Categorical(["a"] * 30 + ["b"] * 30, categories=["a", "b", "unused"])})
    cur = pd.DataFrame({"c": ["a"] * 20 + ["b"] * 25 + ["new"] * 15})
    f = data_drift(ref, cur, [], ["c"], TESTS).feature("c")
    table = np.array([[30, 30, 0], [20, 25, 15]])
    res = stats.chi2_contingency(table)
    assert f.statistic == pytest.approx(res.statistic) and f.p_value == pytest.approx(res.pvalue)
    assert f.effect_size == pytest.approx(math.sqrt(res.statistic / table.sum()))
    assert f.drifted


def test_low_cardinality_numeric_goes_to_chi2_not_ks() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"grade": rng.integers(1, 6, 400), "score": rng.integers(1, 7, 400)})
    cur = pd.DataFrame({"grade": rng.integers(1, 6, 400), "score": rng.integers(1, 7, 400)})
    report = data_drift(ref, cur, ["grade", "score"], [], TESTS)
    grade, score = report.feature("grade"), report.feature("score")
    assert (grade.kind, grade.method, grade.effect_name) == ("numeric", "chi2", "cramers_v")
    assert grade.reference_mean == pytest.approx(ref["grade"].mean())
    assert score.method == "ks"  # 6 distinct values reaches ks_min_distinct
    shifted = pd.DataFrame({"grade": rng.choice([1, 2, 3, 4, 5], 400, p=[0.05, 0.05, 0.1, 0.3, 0.5])})
    assert data_drift(ref, shifted, ["grade"], [], TESTS).feature("grade").drifted


# --------------------------------------------------------------------------- distances family (auto)


def test_distance_path_no_drift_and_half_sigma_shift() -> None:
    rng = np.random.default_rng(5)
    ref = normal_frame(rng, 5000)
    same = data_drift(ref, normal_frame(rng, 5000), ["x"], [])
    moved = data_drift(ref, normal_frame(rng, 5000, shift=1.0), ["x"], [])
    f0, f1 = same.feature("x"), moved.feature("x")
    assert same.method_family == "distances"
    assert f0.method == "wasserstein_norm" and f0.p_value is None and f0.threshold == 0.1
    assert f0.statistic < 0.1 and not f0.drifted and same.drifted is False
    assert f1.statistic == pytest.approx(0.5, abs=0.1) and f1.drifted and moved.drifted is True
    assert f1.effect_size == f1.statistic
    assert "normalised Wasserstein" in f1.describe()


def test_wasserstein_norm_matches_scipy() -> None:
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"x": rng.lognormal(0, 1, 5000)})
    cur = pd.DataFrame({"x": rng.lognormal(0.2, 1.1, 3001)})
    f = data_drift(ref, cur, ["x"], []).feature("x")
    expected = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert f.statistic == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("n", "m", "chunk"), [(1, 1, 8), (7, 3, 2), (3, 7, 2), (1000, 999, 64),
                                               (600, 400, 50), (50, 2000, 16), (5000, 5000, 1 << 18)])
def test_sorted_wasserstein_equals_scipy_across_blocks(n: int, m: int, chunk: int) -> None:
    rng = np.random.default_rng(n * 7919 + m)
    u, v = rng.normal(0, 1, n), rng.normal(0.3, 2, m)
    u[: n // 3] = np.round(u[: n // 3])  # ties within and across samples
    v[: m // 3] = np.round(v[: m // 3])
    expected = stats.wasserstein_distance(u, v)
    assert wasserstein_sorted(np.sort(u), np.sort(v), chunk=chunk) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_jensenshannon_for_categorical_with_and_without_drift() -> None:
    rng = np.random.default_rng(7)
    ref = category_frame(rng, 5000, UNIFORM)
    same_cur, moved_cur = category_frame(rng, 5000, UNIFORM), category_frame(rng, 5000, SKEWED)
    same = data_drift(ref, same_cur, [], ["sector"]).feature("sector")
    moved = data_drift(ref, moved_cur, [], ["sector"]).feature("sector")
    assert same.method == moved.method == "jensenshannon" and same.effect_name == "js_distance"
    assert not same.drifted and same.statistic < 0.1
    assert moved.drifted and moved.statistic >= 0.1
    counts = pd.concat([ref["sector"].value_counts(), moved_cur["sector"].value_counts()], axis=1).fillna(0)
    expected = jensenshannon(counts.iloc[:, 0], counts.iloc[:, 1], base=2)
    assert moved.statistic == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- PSI, share, refusal, missing values


def test_psi_bands() -> None:
    rng = np.random.default_rng(8)
    ref = normal_frame(rng, 2000)
    identical = data_drift(ref, ref.copy(), ["x"], []).feature("x")
    shifted = data_drift(ref, normal_frame(rng, 2000, shift=4.0), ["x"], []).feature("x")
    assert identical.psi == pytest.approx(0.0, abs=1e-12) and identical.psi_band == "no significant change"
    assert shifted.psi > 0.25 and shifted.psi_band == "significant change"


def test_psi_matches_a_straightforward_computation() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.gamma(2, 2, 3000), rng.gamma(2.4, 2, 2000)
    f = data_drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), ["x"], []).feature("x")
    edges = np.concatenate(([-np.inf], np.unique(np.quantile(ref, np.linspace(0, 1, 11)[1:-1])), [np.inf]))
    p = np.array([((ref > lo) & (ref <= hi)).mean() for lo, hi in zip(edges[:-1], edges[1:])])
    q = np.array([((cur > lo) & (cur <= hi)).mean() for lo, hi in zip(edges[:-1], edges[1:])])
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert f.psi == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)
    assert f.psi_band == "moderate change"  # PSI 0.108 for this seed


def shifted_features(rng: np.random.Generator, n_shifted: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = ["a", "b", "c"]
    ref = pd.DataFrame({k: rng.normal(0, 1, 300) for k in names})
    cur = pd.DataFrame({k: rng.normal(2.0 if i < n_shifted else 0.0, 1, 300) for i, k in enumerate(names)})
    return ref, cur


def test_drift_share_decides_the_dataset() -> None:
    rng = np.random.default_rng(10)
    policy = DriftPolicy(drift_share=0.5)
    one = data_drift(*shifted_features(rng, 1), ["a", "b", "c"], [], policy)
    two = data_drift(*shifted_features(rng, 2), ["a", "b", "c"], [], policy)
    assert one.drifted_features == ("a",) and one.share_drifted == pytest.approx(1 / 3)
    assert one.drifted is False and one.verdict.startswith("no data drift: 1 of 3 features drifted (share 0.33 < 0.50)")
    assert two.drifted_features == ("a", "b") and two.drifted is True
    assert two.verdict == "data drift: 2 of 3 features drifted (share 0.67 >= 0.50): a, b"


def test_refuses_with_too_few_rows() -> None:
    rng = np.random.default_rng(11)
    report = data_drift(normal_frame(rng, 50), normal_frame(rng, 4, shift=20.0), ["x"], [])
    assert report.drifted is None and report.share_drifted is None
    assert report.verdict == "not enough rows to decide (current has 4 rows, minimum is 10)"
    f = report.feature("x")
    assert not f.drifted and "too few non-missing values" in f.describe()
    empty = data_drift(normal_frame(rng, 0), normal_frame(rng, 0), ["x"], [])
    assert empty.drifted is None and "reference has 0 rows and current has 0 rows" in empty.verdict
    as_json(empty)


def test_missing_values_are_dropped_and_all_missing_is_not_drift() -> None:
    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 300), "s": rng.choice(CATEGORIES, 300)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 300), "s": rng.choice(CATEGORIES, 300)})
    ref.loc[::7, "x"] = np.nan
    cur.loc[::5, "x"] = np.inf  # infinities count as missing too
    cur.loc[::3, "s"] = None
    report = data_drift(ref, cur, ["x"], ["s"], TESTS)
    x = report.feature("x")
    finite = cur["x"][np.isfinite(cur["x"])]
    assert x.p_value == pytest.approx(stats.ks_2samp(ref["x"].dropna(), finite).pvalue)
    assert (x.n_reference, x.n_current) == (ref["x"].notna().sum(), len(finite))
    assert report.feature("s").n_current == cur["s"].notna().sum()

    cur["x"] = np.nan
    cur["s"] = None
    report = data_drift(ref, cur, ["x"], ["s"])
    for f in report.features:
        assert not f.drifted and f.method == "none"
        assert "all values are missing in the current data" in f.describe()
    assert report.drifted is False and "not tested: x" in report.verdict
    as_json(report)


def test_constant_reference_does_not_crash() -> None:
    rng = np.random.default_rng(13)
    ref = pd.DataFrame({"x": np.full(200, 5.0), "z": np.zeros(200)})
    cur = pd.DataFrame({"x": rng.normal(5, 1, 200), "z": rng.normal(0, 1, 200)})
    report = data_drift(ref, cur, ["x", "z"], [], DriftPolicy(small_sample_max_rows=100))
    x, z = report.feature("x"), report.feature("z")
    assert x.effect_name == "wasserstein/|mean|" and math.isfinite(x.statistic) and "constant" in x.note
    assert z.effect_name == "wasserstein" and z.statistic == pytest.approx(stats.wasserstein_distance(ref["z"], cur["z"]))
    as_json(report)


def test_extension_dtypes_and_json() -> None:
    rng = np.random.default_rng(14)
    ref = pd.DataFrame({"n": pd.array(rng.integers(0, 100, 200), dtype="Int64"),
                        "s": pd.Categorical(rng.choice(CATEGORIES, 200))})
    cur = ref.copy()
    cur.loc[0, "n"] = pd.NA
    report = data_drift(ref, cur, ["n"], ["s"], TESTS)
    assert report.drifted is False and report.feature("n").n_current == 199
    payload = json.loads(as_json(report))
    assert payload["features"][0]["description"] == report.features[0].describe()
    assert isinstance(payload["features"][0]["p_value"], float)


def test_rejects_bad_feature_lists() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="lacks column"):
        data_drift(frame, frame, ["x", "y"], [])
    with pytest.raises(TypeError, match="sequence of column names"):
        data_drift(frame, frame, "x", [])
    with pytest.raises(ValueError, match="more than once"):
        data_drift(frame, frame, ["x"], ["x"])
    with pytest.raises(ValueError, match="no features"):
        data_drift(frame, frame, [], [])
    with pytest.raises(ValueError, match="non-numeric"):
        data_drift(pd.DataFrame({"x": ["a", "b"]}), frame, ["x"], [])


# --------------------------------------------------------------------------- the udacity data


def read_deduplicated(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted(folder.glob("*.csv"))], ignore_index=True).drop_duplicates()


@pytest.mark.skipif(not (UDACITY / "practicedata").is_dir() or not (UDACITY / "sourcedata").is_dir(),
                    reason=f"udacity data not found under {UDACITY}")
def test_udacity_practice_vs_source_drifts() -> None:
    ref = read_deduplicated(UDACITY / "practicedata")
    cur = read_deduplicated(UDACITY / "sourcedata")
    numeric = ["lastmonth_activity", "lastyear_activity", "number_of_employees"]
    report = data_drift(ref, cur, numeric, [])
    print("\n" + report.verdict + "\n" + "\n".join(f.describe() for f in report.features))
    # 26 and 26 rows: only changes far beyond sampling noise count; two of the three features have them.
    assert report.method_family == "distances" and report.drifted is True
    assert set(report.drifted_features) == {"lastmonth_activity", "number_of_employees"}
    for f in report.features:
        assert f.psi_band == "significant change" and f.noise_bound is not None
    tested = data_drift(ref, cur, numeric, [], TESTS)
    for f in tested.features:
        assert f.method == "ks" and f.p_value == pytest.approx(stats.ks_2samp(ref[f.feature], cur[f.feature]).pvalue)
        assert f.drifted
    # Activity last month and company size grew by an order of magnitude; last year's activity fell.
    months = report.feature("lastmonth_activity")
    assert months.current_mean > 10 * months.reference_mean
    assert report.feature("lastyear_activity").current_mean < report.feature("lastyear_activity").reference_mean
    as_json(report)


# --------------------------------------------------------------------------- score drift


HISTORY = [0.70, 0.72, 0.69, 0.71, 0.73]


def test_raw_rule() -> None:
    worse = score_drift(0.5, 0.6, [], rule="raw")
    better = score_drift(0.6, 0.6, [], rule="raw")
    assert worse.drifted is True and worse.threshold == 0.6 and "below the recorded score 0.6" in worse.reason
    assert better.drifted is False and better.reason.startswith("no score drift")
    unknown = score_drift(0.5, None, HISTORY)
    assert unknown.drifted is None and "no recorded score" in unknown.reason


def test_parametric_rule() -> None:
    threshold = np.mean(HISTORY) - 2 * np.std(HISTORY, ddof=1)
    drop = score_drift(0.60, 0.73, HISTORY, rule="parametric")
    steady = score_drift(0.69, 0.73, HISTORY, rule="parametric")
    assert drop.threshold == pytest.approx(threshold) and drop.drifted is True
    assert drop.reason == f"score drift: F1 0.6 on the new data is below mean-2·std of 5 recorded scores ({threshold:.4g})"
    assert steady.drifted is False  # below the recorded score, but within the usual spread
    assert score_drift(0.69, 0.73, HISTORY, rule="raw").drifted is True


def test_nonparametric_rule() -> None:
    q1, q3 = np.percentile(HISTORY, [25, 75])
    drop = score_drift(0.60, None, HISTORY, rule="nonparametric")
    steady = score_drift(0.68, None, HISTORY, rule="nonparametric")
    assert drop.threshold == pytest.approx(q1 - 1.5 * (q3 - q1)) and drop.drifted is True
    assert "Q1-1.5·IQR of 5 recorded scores" in drop.reason
    assert steady.drifted is False


@pytest.mark.parametrize("rule", ["parametric", "nonparametric"])
def test_short_history_is_undecided_in_words(rule: str) -> None:
    result = score_drift(0.1, 0.9, HISTORY[:4], rule=rule)  # the default needs 5
    assert result.drifted is None and result.threshold is None and result.n_history == 4
    assert result.reason == f"score drift undecided: 4 recorded scores, the {rule} rule needs 5"
    named = score_drift(0.1, 0.9, [0.9, 0.91], rule=rule, version=3, mode="production")
    assert named.reason == (f"score drift undecided: 2 scores recorded for v3 in production mode, "
                            f"the {rule} rule needs 5")
    assert "1 recorded score," in score_drift(0.1, 0.9, [0.9], rule=rule).reason
    assert score_drift(0.1, 0.9, [0.9, 0.91], rule=rule, min_history=2).drifted is True
    assert score_drift(0.1, 0.9, HISTORY, rule=rule).drifted is True
    with pytest.raises(ValueError, match="min_history"):
        score_drift(0.1, 0.9, HISTORY, rule=rule, min_history=1)


def test_history_thresholds_are_clipped_to_the_score_range() -> None:
    spread = [0.6, 0.1, 0.9, 0.2, 0.7]  # mean-2·std < 0, Q1-1.5·IQR < 0
    for rule in ("parametric", "nonparametric"):
        result = score_drift(0.0, None, spread, rule=rule, version=3, mode="production")
        assert result.threshold == 0.0 and result.drifted is False
        assert "of 5 scores recorded for v3 in production mode (-" in result.reason
        assert "clipped to 0: F1 lies in [0, 1])" in result.reason
    assert score_drift(0.69, 0.73, HISTORY, rule="parametric").threshold > 0  # not clipped: said as is
    assert "clipped" not in score_drift(0.69, 0.73, HISTORY, rule="parametric").reason


def test_score_drift_json_and_errors() -> None:
    for rule in ("raw", "parametric", "nonparametric"):
        payload = json.loads(as_json(score_drift(np.float64(0.6), np.float64(0.7), np.array(HISTORY), rule=rule)))
        assert payload["rule"] == rule and isinstance(payload["drifted"], bool)
    with pytest.raises(ValueError, match="unknown score rule"):
        score_drift(0.5, 0.6, HISTORY, rule="median")
    with pytest.raises(ValueError, match="finite"):
        score_drift(float("nan"), 0.6, HISTORY)


# --------------------------------------------------------------------------- policy


def test_policy_from_mapping() -> None:
    policy = DriftPolicy.from_mapping({"psi_bands": [0.2, 0.3], "min_rows": 5})
    assert policy.psi_bands == (0.2, 0.3) and policy.min_rows == 5 and hash(policy)
    assert DriftPolicy.from_mapping({}) == DriftPolicy()
    with pytest.raises(ValueError, match="unknown drift policy key.*wasserstein_treshold"):
        DriftPolicy.from_mapping({"wasserstein_treshold": 0.2})
    with pytest.raises(ValueError, match="drift_share"):
        DriftPolicy.from_mapping({"drift_share": 0})
    with pytest.raises(ValueError, match="min_rows must be an integer"):
        DriftPolicy.from_mapping({"min_rows": "10"})


def test_auto_uses_distances_beyond_noise_at_every_reference_size() -> None:
    rng = np.random.default_rng(15)
    for n in (30, 300, 3000):
        ref, cur = normal_frame(rng, n), normal_frame(rng, 50)
        report = data_drift(ref, cur, ["x"], [], DriftPolicy(small_sample_max_rows=10**6))
        f = report.feature("x")
        assert report.method_family == "distances" and f.method == "wasserstein_norm"
        assert f.noise_bound > 0.1 and not f.drifted  # 50 rows: noise alone passes the 0.1 threshold
