"""The risk list as a file: scoring a CSV with the deployed model, reading, paging and reloading the latest list."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, write_config
from riskwatch.config import load_config
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry
from riskwatch.risk import risk_list
from riskwatch.riskfile import (NO_RISK_LIST, LatestRiskList, RiskListError, ScoreError, UnknownBand,
                                latest_risk_path, read_risk_list, score_csv)
from unit_helpers import SCHEMA, clients

TESTDATA = REPO / "data" / "testdata" / "testdata.csv"
FEATURES = list(SCHEMA.features)


@pytest.fixture
def cfg(tmp_path: Path):
    return load_config(write_config(tmp_path))


@pytest.fixture
def deployed(cfg, good_model):
    """``cfg`` with ``good_model`` registered as v1 and in production."""
    registry = Registry(cfg.registry_path)
    registry.register(good_model, clients(50, seed=1), {"training_files": []})
    registry.set_production(1, "test")
    return cfg


def write_list(cfg, model, frame: pd.DataFrame, version: int = 1) -> pd.DataFrame:
    """What a cycle leaves beside the deployed model."""
    table = risk_list(model, frame, cfg.schema, version, cfg.risk)
    atomic_write_text(latest_risk_path(cfg), table.to_csv(index=False))
    return table


def test_score_csv_lists_every_client_of_the_test_data_highest_risk_first(deployed, good_model) -> None:
    table = score_csv(deployed, TESTDATA)
    data = pd.read_csv(TESTDATA, dtype={"corporation": "string"})
    assert list(table.columns) == ["corporation", "predicted", "probability", "risk_band", "model_version"]
    assert sorted(table["corporation"]) == sorted(data["corporation"])  # every row, duplicate ids too
    assert table["probability"].is_monotonic_decreasing and (table["model_version"] == 1).all()
    expected = sorted(good_model.predict_proba(data[FEATURES])[:, 1], reverse=True)
    assert table["probability"].tolist() == pytest.approx(expected)
    low, high = deployed.risk["cutoffs"]
    assert (table.loc[table["probability"] >= high, "risk_band"] == "high").all()
    assert (table.loc[table["probability"] < low, "risk_band"] == "low").all()


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("content, words", [
    (None, "no such file"),
    ("", "holds no client records"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees\n", "holds no client records"),
    ("corporation,lastmonth_activity\nabc,3\n", "missing column(s): lastyear_activity, number_of_employees"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees\nabc,3,x,4\n",
     "'lastyear_activity' must hold finite numbers"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees\nabc,3,,4\n",
     "'lastyear_activity' must hold finite numbers"),
    ("a,b\n1,2\n1,2,3,4\n", "not a readable CSV"),
    (b"\xff\xfe\x00garbage\x81", "not a readable CSV"),
])
def test_a_file_that_cannot_be_scored_says_why(deployed, tmp_path: Path, content, words: str) -> None:
    path = tmp_path / "clients.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ScoreError) as caught:
        score_csv(deployed, path)
    assert words in str(caught.value)


def test_no_model_a_folder_or_a_tampered_model_is_a_clear_error(cfg, deployed, tmp_path: Path) -> None:
    with pytest.raises(ScoreError, match="is a folder"):
        score_csv(deployed, tmp_path)
    artifact = Registry(cfg.registry_path).check(1)
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(ScoreError, match="v1 cannot be loaded: .*hash does not match"):
        score_csv(deployed, TESTDATA)
    os.remove(Registry(cfg.registry_path).pointer_path)
    with pytest.raises(ScoreError, match="no model is deployed yet"):
        score_csv(cfg, TESTDATA)


def test_latest_list_is_counted_paged_and_filtered(cfg, good_model) -> None:
    assert read_risk_list(latest_risk_path(cfg), cfg.schema, cfg.risk["bands"]) is None
    table = write_list(cfg, good_model, clients(230, seed=5), version=3)
    risk = read_risk_list(latest_risk_path(cfg), cfg.schema, cfg.risk["bands"])
    counts = table["risk_band"].value_counts()
    assert risk.counts == {b: int(counts.get(b, 0)) for b in ("high", "medium", "low")}
    assert risk.total == 230 and risk.model_version == 3
    assert risk.counts_text() == " · ".join(f"{b} {n}" for b, n in risk.counts.items())
    assert risk.top_text(2) == ", ".join(f"{i} {p:.0%}" for i, p in table[["corporation", "probability"]].head(2).values)

    first, last = risk.page(1, 100), risk.page(3, 100)
    assert first["pages"] == 3 and first["matching"] == 230 and first["band"] is None
    assert [c["id"] for c in first["clients"]] == table["corporation"].head(100).tolist()
    assert len(last["clients"]) == 30 and risk.page(4, 100)["clients"] == []
    assert first["clients"][0] == {"id": table["corporation"][0], "probability": table["probability"][0],
                                   "predicted": int(table["predicted"][0]), "risk_band": table["risk_band"][0]}
    medium = risk.page(1, 1000, "medium")
    assert medium["matching"] == risk.counts["medium"] == len(medium["clients"])
    assert {c["risk_band"] for c in medium["clients"]} == {"medium"}
    probabilities = [c["probability"] for c in medium["clients"]]
    assert probabilities == sorted(probabilities, reverse=True)
    with pytest.raises(UnknownBand, match="unknown band 'severe': the bands are high, medium, low"):
        risk.page(1, 10, "severe")


def test_ids_stay_as_written(cfg, good_model) -> None:
    frame = clients(3, seed=2)
    frame["corporation"] = pd.array(["0012", "NA", "null"], dtype="string")
    write_list(cfg, good_model, frame)
    risk = read_risk_list(latest_risk_path(cfg), cfg.schema, cfg.risk["bands"])
    assert sorted(risk.table["corporation"]) == ["0012", "NA", "null"]


def test_a_list_that_is_not_one_is_an_error_not_a_crash(cfg) -> None:
    path = latest_risk_path(cfg)
    path.parent.mkdir(parents=True)
    path.write_text("corporation,probability\nacme,0.5\n")
    with pytest.raises(RiskListError, match="lacks column.*predicted"):
        read_risk_list(path, cfg.schema, cfg.risk["bands"])
    path.write_text("corporation,predicted,probability,risk_band,model_version\nacme,1,high,high,1\n")
    with pytest.raises(RiskListError, match="not numbers"):
        read_risk_list(path, cfg.schema, cfg.risk["bands"])


def test_latest_list_is_read_again_only_when_the_file_changes(cfg, good_model) -> None:
    latest = LatestRiskList(cfg)
    assert latest.get() is None and NO_RISK_LIST.startswith("no risk list yet")
    write_list(cfg, good_model, clients(40, seed=3), version=1)
    first = latest.get()
    assert first.total == 40 and latest.get() is first  # unchanged file: the same object, no re-read
    write_list(cfg, good_model, clients(60, seed=4), version=2)
    assert latest.get().total == 60 and latest.get().model_version == 2
    latest_risk_path(cfg).unlink()
    assert latest.get() is None
