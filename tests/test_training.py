"""riskwatch.training: train_and_register and the files it learnt from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Schema
from riskwatch.ingestion import ingest
from riskwatch.metrics import score_model
from riskwatch.model import TrainingError
from riskwatch.newdata import file_sha256
from riskwatch.registry import Registry
from riskwatch.tables import read_table
from riskwatch.training import files_in_finaldata, train_and_register
from unit_helpers import ESTIMATOR, PARAMS, SCHEMA, clients, region_frame, write_rows

CAT_SCHEMA = Schema("corporation", ("lastmonth_activity",), ("region",), "exited")


# ---- the pipeline --------------------------------------------------------------------------


# ---- the baseline's published scores (udacity data) -----------------------------------------


# ---- the estimator factory -----------------------------------------------------------------


# ---- refusing data -------------------------------------------------------------------------


# ---- categorical columns -------------------------------------------------------------------


# ---- train_and_register --------------------------------------------------------------------

def ingested_project(tmp_path: Path, frames: dict[str, pd.DataFrame], schema: Schema = SCHEMA) -> dict[str, Path]:
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name, frame in frames.items():
        frame.to_csv(inbox / name, index=False)
    out = tmp_path / "ingesteddata"
    ingest(inbox, out, tmp_path / "quarantine", schema, run_id="r1")
    return {"in": inbox, "out": out, "registry": tmp_path / "registry", "models": tmp_path / "models"}


def test_train_and_register_stores_a_version_and_the_baseline_file(tmp_path: Path) -> None:
    p = ingested_project(tmp_path, {"a.csv": clients(150, seed=12), "b.csv": clients(150, seed=13)})
    finaldata = p["out"] / "finaldata.csv"
    version, model, data = train_and_register(
        str(finaldata), str(p["out"] / "ingestedfiles.json"), str(p["registry"]), str(p["models"]),
        SCHEMA, ESTIMATOR, PARAMS, False, "r1")
    registry = Registry(p["registry"])
    assert version == 1 and registry.versions() == [1]
    assert len(data) == len(pd.read_csv(finaldata))
    meta = registry.metadata(version)
    assert meta["run_id"] == "r1" and meta["estimator"] == ESTIMATOR and meta["params"] == PARAMS
    assert meta["finaldata_sha256"] == file_sha256(finaldata)
    assert meta["training_rows"] == len(data)
    assert sorted((f["name"], f["sha256"], f["rows"]) for f in meta["training_files"]) == [
        ("a.csv", file_sha256(p["in"] / "a.csv"), 150), ("b.csv", file_sha256(p["in"] / "b.csv"), 150)]
    pkl = p["models"] / "trainedmodel.pkl"
    assert file_sha256(pkl) == meta["artifact_sha256"] == file_sha256(registry.check(version))
    assert json.loads((p["models"] / "model_version.json").read_text()) == {"version": version}
    features = data[list(SCHEMA.features)]
    np.testing.assert_allclose(registry.load_model(version).predict_proba(features), model.predict_proba(features))
    # the stored training data is what the model learnt from
    stored = pd.read_parquet(registry.training_data_path(version))
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), data.reset_index(drop=True),
                                  check_dtype=False)

    again, _, _ = train_and_register(
        str(finaldata), str(p["out"] / "ingestedfiles.json"), str(p["registry"]), str(p["models"]),
        SCHEMA, ESTIMATOR, PARAMS, False, "r2")
    assert again == 2
    assert json.loads((p["models"] / "model_version.json").read_text()) == {"version": 2}


def test_train_and_register_refuses_single_class_finaldata(tmp_path: Path) -> None:
    frame = clients(50, seed=14)
    frame["exited"] = 1
    p = ingested_project(tmp_path, {"a.csv": frame})
    with pytest.raises(TrainingError):
        train_and_register(str(p["out"] / "finaldata.csv"), str(p["out"] / "ingestedfiles.json"),
                           str(p["registry"]), str(p["models"]), SCHEMA, ESTIMATOR, PARAMS, False, "r1")
    assert Registry(p["registry"]).versions() == []


def test_train_and_register_handles_numeric_looking_category_codes(tmp_path: Path) -> None:
    frame = region_frame(120, seed=15)
    frame["region"] = frame["region"].map({"north": "1", "south": "2", "east": "3"})
    p = ingested_project(tmp_path, {"a.csv": frame}, CAT_SCHEMA)
    version, model, _ = train_and_register(
        str(p["out"] / "finaldata.csv"), str(p["out"] / "ingestedfiles.json"), str(p["registry"]),
        str(p["models"]), CAT_SCHEMA, ESTIMATOR, PARAMS, False, "r1")
    test = read_table(p["in"] / "a.csv", CAT_SCHEMA)  # how scoring reads test data
    assert score_model(model, test, CAT_SCHEMA)["n"] == 120


# ---- files_in_finaldata --------------------------------------------------------------------

def test_files_in_finaldata_lists_only_merged_files(tmp_path: Path) -> None:
    p = ingested_project(tmp_path, {"a.csv": clients(20, seed=16), "b.csv": clients(20, seed=17)})
    write_rows(p["in"] / "bad.csv", [["x", "y"]], header=["corporation", "exited"])
    (p["in"] / "b.csv").unlink()
    ingest(p["in"], p["out"], tmp_path / "quarantine", SCHEMA, run_id="r2")
    listed = files_in_finaldata(str(p["out"] / "ingestedfiles.json"))
    assert [f["name"] for f in listed] == ["a.csv"]
    assert listed[0]["sha256"] == file_sha256(p["in"] / "a.csv")
    assert listed[0]["rows"] == 20 and listed[0]["ingested_at"]


def test_files_in_finaldata_without_a_record(tmp_path: Path) -> None:
    assert files_in_finaldata(str(tmp_path / "absent.json")) == []


def test_when_every_file_is_refused_training_says_there_is_nothing_valid(tmp_path: Path) -> None:
    """Not a CSV parser's complaint about an empty file: what happened and where to look."""
    inbox = tmp_path / "in"
    write_rows(inbox / "wrong.csv", [["a", 1, 2]], header=["corporation", "lastmonth_activity", "something"])
    result = ingest(inbox, tmp_path / "ingested", tmp_path / "quarantine", SCHEMA, "r1")
    assert len(result.quarantined) == 1
    with pytest.raises(TrainingError) as caught:
        train_and_register(str(result.finaldata_path), str(result.record_path), str(tmp_path / "registry"),
                           str(tmp_path / "models"), SCHEMA, ESTIMATOR, PARAMS, False, "r1")
    message = str(caught.value)
    assert message.startswith("nothing valid to train on") and "1 file(s) were quarantined" in message
    assert str(tmp_path / "quarantine") in message and "header but no rows" not in message
    assert Registry(tmp_path / "registry").versions() == []
