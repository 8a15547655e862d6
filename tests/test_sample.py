"""riskwatch.sample: the bundled sample data is reproducible byte for byte and means what it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.sample import (
    COLUMNS,
    PRACTICE,
    PRODUCTION,
    attrition_probability,
    main,
    make_clients,
    write_sample_data,
)
from unit_helpers import REPO

BUNDLED = ["practicedata/dataset1.csv", "practicedata/dataset2.csv", "sourcedata/dataset3.csv",
           "sourcedata/dataset4.csv", "testdata/testdata.csv"]
NUMERIC = ["lastmonth_activity", "lastyear_activity", "number_of_employees"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("sample")
    written = write_sample_data(dest)
    assert written == [dest / name for name in BUNDLED]
    return dest


def read(folder: Path, part: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(f) for f in sorted((folder / part).glob("*.csv"))], ignore_index=True)


@pytest.mark.parametrize("name", BUNDLED)
def test_same_seed_reproduces_the_bundled_files_byte_for_byte(regenerated: Path, name: str) -> None:
    bundled = REPO / "data" / name
    if not bundled.is_file():
        pytest.skip(f"bundled sample file {bundled} is missing")
    assert (regenerated / name).read_bytes() == bundled.read_bytes()


def test_generation_is_deterministic_and_seed_dependent(tmp_path: Path, regenerated: Path) -> None:
    write_sample_data(tmp_path / "same", rows_per_file=2500)
    write_sample_data(tmp_path / "other", seed=7)
    for name in BUNDLED:
        assert (tmp_path / "same" / name).read_bytes() == (regenerated / name).read_bytes()
        assert (tmp_path / "other" / name).read_bytes() != (regenerated / name).read_bytes()


def test_files_have_the_baseline_schema_and_sizes(regenerated: Path) -> None:
    for name in BUNDLED:
        raw = (regenerated / name).read_bytes()
        assert b"\r\n" not in raw
        frame = pd.read_csv(regenerated / name, dtype={"corporation": str})
        assert list(frame.columns) == COLUMNS
        assert len(frame) == (1250 if name.startswith("testdata") else 2500)
        assert frame["corporation"].str.fullmatch("[a-z]{4}").all()
        assert set(frame["exited"]) == {0, 1}
        assert (frame[NUMERIC] >= 1).all().all()
        assert all(frame[c].dtype.kind == "i" for c in NUMERIC)


def test_exit_rate_is_higher_among_low_lastmonth_activity(regenerated: Path) -> None:
    for part in ("practicedata", "sourcedata", "testdata"):
        frame = read(regenerated, part)
        low = frame["lastmonth_activity"] <= frame["lastmonth_activity"].median()
        low_rate = frame.loc[low, "exited"].mean()
        high_rate = frame.loc[~low, "exited"].mean()
        assert low_rate > high_rate + 0.1, part
        # a dip below the client's usual level (lastyear / 12) also signals leaving
        dipped = frame["lastmonth_activity"] < frame["lastyear_activity"] / 12
        assert frame.loc[dipped, "exited"].mean() > frame.loc[~dipped, "exited"].mean(), part


def test_sourcedata_lives_in_a_grown_market(regenerated: Path) -> None:
    practice = read(regenerated, "practicedata")
    source = read(regenerated, "sourcedata")
    test = read(regenerated, "testdata")
    for column in NUMERIC:
        assert source[column].mean() > practice[column].mean(), column
        assert source[column].median() > practice[column].median(), column
        assert test[column].median() > practice[column].median(), column


def test_attrition_probability_follows_the_rule() -> None:
    activity = np.array([20.0, 80.0, 110.0, 200.0, 800.0])
    employees = np.full(5, 15.0)
    p = attrition_probability(activity, employees, PRACTICE)
    assert ((p > 0) & (p < 1)).all()
    assert (np.diff(p) < 0).all()  # more activity -> fewer exits
    smaller = attrition_probability(activity, employees / 3, PRACTICE)
    assert (smaller > p).all()  # smaller clients leave more often
    # at the regime's thresholds the logit is the constant term
    at = attrition_probability(np.array([PRACTICE.leave_activity]), np.array([PRACTICE.leave_employees]), PRACTICE)
    assert at[0] == pytest.approx(1 / (1 + np.exp(0.4)))
    # the production market leaves at a higher activity level
    same = np.array([150.0])
    assert attrition_probability(same, np.array([20.0]), PRODUCTION)[0] > \
        attrition_probability(same, np.array([20.0]), PRACTICE)[0]


def test_make_clients_matches_the_rule_on_average() -> None:
    frame = make_clients(20000, PRACTICE, np.random.default_rng(0))
    expected = attrition_probability(frame["lastmonth_activity"].to_numpy(float).clip(1),
                                     frame["number_of_employees"].to_numpy(float), PRACTICE)
    assert frame["exited"].mean() == pytest.approx(expected.mean(), abs=0.02)


def test_main_writes_into_a_folder(tmp_path: Path, capsys) -> None:
    main([str(tmp_path / "out"), "--seed", "3", "--rows", "40"])
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "out" / name) for name in BUNDLED]
    assert len(pd.read_csv(tmp_path / "out" / "testdata" / "testdata.csv")) == 20
    write_sample_data(tmp_path / "again", seed=3, rows_per_file=40)
    for name in BUNDLED:
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
